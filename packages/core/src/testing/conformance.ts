/**
 * The kernel conformance suite: every kernel of a backend against the reference backend (float64 sums) on the
 * same inputs — fixed shapes with odd sizes and seeded random shapes (the seed is in the test name), weights in
 * every dtype (quantized ones made by core's quantizer, read as blocks by both sides) — comparing
 * outputs and updated states by max |Δ| relative to the output's scale and by NMSE = mse(a, b) / mse(b, 0).
 */
import { describe, expect, it } from "vitest";
import type { Activation } from "../config.js";
import { type Backend, DEFAULT_WEIGHT_DTYPES, type SsmParams, type Tensor, type WeightDType } from "../backend.js";
import { createReferenceBackend } from "../reference/index.js";
import { Rng } from "../sampling.js";
import { relErr } from "./compare.js";
import { fromFloat32 as weightBytes } from "../dtype.js";
import { isQuantized, QUANT_BLOCKS } from "../quant.js";

/** Tolerances of a float32 backend against the float64-summing reference. */
export const KERNEL_TOLERANCE = { rel: 1e-4, nmse: 1e-9 };

export function nmse(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  return den === 0 ? num : num / den;
}

/** One kernel call on given inputs; returns the tensors to compare (outputs and states). */
interface Case {
  name: string;
  /** The weight dtype the case needs; skipped on a backend that does not declare it (Backend.weightDTypes). */
  dtype?: WeightDType;
  run<T extends Tensor>(b: Backend<T>, rng: () => Rng): T[];
}

/** n seeded values in [−scale, scale). */
export const floats = (n: number, rng: Rng, scale = 1) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);

/** A tensor of the backend holding `data`. */
export function f32<T extends Tensor>(b: Backend<T>, shape: number[], data: Float32Array | Int32Array, dtype: "f32" | "i32" = "f32"): T {
  const t = b.zeros(shape, dtype);
  b.write(t, data);
  return t;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function matmulCase(rows: number, outDim: number, inDim: number, dtype: WeightDType, bias: boolean): Case {
  return {
    name: `matmul R=${rows} O=${outDim} I=${inDim} ${dtype}${bias ? " +bias" : ""}`,
    dtype,
    run(b, rng) {
      const r = rng();
      const out = b.zeros([rows, outDim], "f32");
      const w = b.weight([outDim, inDim], dtype, weightBytes(floats(outDim * inDim, r), dtype));
      const bb = bias ? b.weight([outDim], "f32", weightBytes(floats(outDim, r), "f32")) : null;
      b.kernels.matmul(out, f32(b, [rows, inDim], floats(rows * inDim, r)), w, bb);
      return [out];
    },
  };
}

function ssmCase(kind: "ssdScan" | "ssmStep", B: number, T: number, H: number, P: number, G: number, N: number, chunk: number, masked: boolean): Case {
  return {
    name: `${kind} B=${B} T=${T} H=${H} P=${P} G=${G} N=${N} chunk=${chunk}${masked ? " masked" : ""}`,
    run(b, rng) {
      const r = rng();
      const convDim = H * P + 2 * G * N;
      const zw = H * P + convDim + H;
      const y = b.zeros([B, T, H, P], "f32");
      const state = f32(b, [B, H, P, N], floats(B * H * P * N, r));
      const mask = masked ? f32(b, [B, T], Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 2 ? 0 : 1)), "i32") : null;
      const w = {
        dtBias: b.weight([H], "f32", weightBytes(floats(H, r), "f32")),
        A: b.weight([H], "f32", weightBytes(Float32Array.from(floats(H, r), (v) => -Math.exp(v)), "f32")),
        D: b.weight([H], "f32", weightBytes(floats(H, r), "f32")),
      };
      const p: SsmParams = { groups: G, stateSize: N, chunkSize: chunk, dtMin: 0.01, dtMax: 2 };
      b.kernels[kind](y, f32(b, [B, T, convDim], floats(B * T * convDim, r)), f32(b, [B * T, zw], floats(B * T * zw, r, 2)), w, state, mask, p);
      return [y, state];
    },
  };
}

function convCase(B: number, T: number, C: number, K: number, act: Activation, masked: boolean, bias: boolean, dtype: WeightDType = "f32"): Case {
  return {
    name: `causalConv1d B=${B} T=${T} C=${C} K=${K} ${act}${masked ? " masked" : ""}${bias ? " +bias" : ""}${dtype === "f32" ? "" : ` ${dtype}`}`,
    dtype,
    run(b, rng) {
      const r = rng();
      const S = C + 9;
      const out = b.zeros([B, T, C], "f32");
      const state = f32(b, [B, C, K], floats(B * C * K, r));
      const mask = masked ? f32(b, [B, T], Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? 0 : 1)), "i32") : null;
      const w = b.weight([C, K], dtype, weightBytes(floats(C * K, r), dtype));
      const bb = bias ? b.weight([C], "f32", weightBytes(floats(C, r), "f32")) : null;
      b.kernels.causalConv1d(out, f32(b, [B, T, S], floats(B * T * S, r)), 5, w, bb, state, mask, act);
      return [out, state];
    },
  };
}

function embeddingCase(dtype: WeightDType, d: number): Case {
  return {
    name: `embedding ${dtype} D=${d}`,
    dtype,
    run(b, rng) {
      const r = rng();
      const out = b.zeros([5, d], "f32");
      const table = b.weight([37, d], dtype, weightBytes(floats(37 * d, r), dtype));
      b.kernels.embedding(out, table, f32(b, [5], Int32Array.from([0, 36, 5, 5, 17]), "i32"));
      return [out];
    },
  };
}

function fixedCases(): Case[] {
  const cases: Case[] = [];
  for (const dtype of ["f32", "f16", "bf16"] as const) {
    // more than 8 rows: the tiled products of prefill (the GPU gemm with partial tiles, the WASM packed panels)
    // 2048 outputs and more: the GPU's gemv by subgroups (2 outputs a subgroup from 8192, several loads in flight)
    // and its gemm's 128-row tiles
    for (const [R, O, I] of [[1, 37, 29], [5, 13, 67], [2, 8, 16], [7, 33, 130], [1, 64, 256], [9, 70, 36], [133, 141, 37], [130, 65, 36], [1, 8195, 40], [3, 2049, 1030], [130, 2049, 36]]) {
      cases.push(matmulCase(R, O, I, dtype, R % 2 === 1));
    }
    cases.push(embeddingCase(dtype, 13), embeddingCase(dtype, 1000)); // a table of 74–148 KB
  }
  cases.push(matmulCase(1, 2050, 2052, "f16", false)); // 4 loads of a row in flight
  // rows of a multiple of 8: the subgroup gemv's 16-byte loads of 16-bit weights, 4 and 2 of them in flight
  cases.push(matmulCase(1, 2050, 4104, "f16", true), matmulCase(2, 2049, 2056, "bf16", false));
  // few tiles of long rows: the GPU gemm's sums split in 2 and 4 slices of k (partial last slices)
  cases.push(matmulCase(10, 65, 2050, "f32", false), matmulCase(9, 70, 4100, "f16", true), matmulCase(12, 33, 4097, "bf16", true));
  // quantized matrices: rows of whole blocks (32 values; 256 for q4_k)
  for (const dtype of ["q8_0", "q4_0", "q4_k"] as const) {
    const k = QUANT_BLOCKS[dtype].values;
    for (const [R, O, blocks] of [[1, 37, 1], [5, 13, 3], [2, 8, 2], [7, 33, 1], [130, 9, 1], [1, 8193, 1], [2, 2049, 3], [131, 2050, 1]]) cases.push(matmulCase(R, O, k * blocks, dtype, R % 2 === 1));
    cases.push(embeddingCase(dtype, 2 * k));
  }
  cases.push(
    {
      name: "rmsNorm R=3 D=37",
      run(b, rng) {
        const r = rng();
        const out = b.zeros([3, 37], "f32");
        b.kernels.rmsNorm(out, f32(b, [3, 37], floats(111, r, 3)), b.weight([37], "f32", weightBytes(floats(37, r), "f32")), 1e-5);
        return [out];
      },
    },
    {
      name: "add n=37",
      run(b, rng) {
        const r = rng();
        const out = b.zeros([37], "f32");
        b.kernels.add(out, f32(b, [37], floats(37, r)), f32(b, [37], floats(37, r)));
        return [out];
      },
    },
    {
      name: "argmax R=3 V=41",
      run(b, rng) {
        const r = rng();
        const out = b.zeros([3], "i32");
        b.kernels.argmax(out, f32(b, [3, 41], floats(123, r)));
        return [out];
      },
    },
    {
      // longer than one pass of a 256-wide workgroup's 8 loads, with ties (values in steps of 1/2): the first maximum
      name: "argmax R=2 V=5003 ties",
      run(b, rng) {
        const r = rng();
        const out = b.zeros([2], "i32");
        b.kernels.argmax(out, f32(b, [2, 5003], floats(2 * 5003, r, 8).map((v) => Math.round(v * 2) / 2)));
        return [out];
      },
    },
    // 37 rows: a prefill's, which the WASM backend spreads over its threads
    ...[[3, 24], [3, 8], [37, 24]].map(([rows, group]): Case => ({
      name: `gatedRmsNorm R=${rows} E=24 group=${group}`,
      run(b, rng) {
        const r = rng();
        const out = b.zeros([rows, 24], "f32");
        const [y, z] = [f32(b, [rows, 24], floats(rows * 24, r)), f32(b, [rows, 31], floats(rows * 31, r, 3))];
        b.kernels.gatedRmsNorm(out, y, z, b.weight([24], "f32", weightBytes(floats(24, r), "f32")), 1e-5, group);
        return [out];
      },
    })),
    convCase(2, 7, 11, 4, "silu", false, true),
    convCase(2, 7, 11, 3, "relu", true, false),
    convCase(3, 1, 13, 4, "identity", false, true),
    convCase(2, 40, 11, 4, "silu", true, true), // longer than a block of positions (16 on the GPU)
    convCase(2, 3, 9, 4, "silu", false, true), // fewer positions than taps: the new state keeps old entries
    convCase(1, 20, 18, 4, "identity", false, false, "f16"),
    convCase(2, 6, 12, 4, "silu", false, true, "bf16"),
    ssmCase("ssdScan", 2, 21, 6, 5, 3, 7, 4, false),
    ssmCase("ssdScan", 2, 21, 6, 5, 3, 7, 8, true),
    ssmCase("ssdScan", 1, 9, 4, 8, 1, 16, 32, false),
    // several chunks of a GPU's (at most 64 positions) and of the model's: a model's head sizes, then odd ones
    ssmCase("ssdScan", 1, 300, 4, 64, 1, 128, 256, false),
    ssmCase("ssdScan", 2, 200, 6, 24, 3, 40, 50, true),
    ssmCase("ssmStep", 3, 1, 6, 5, 2, 7, 1, false),
    ssmCase("ssmStep", 2, 4, 4, 3, 1, 9, 1, true),
    // decode shapes: N = 128 over 32 invocations a channel (the GPU's step), N = 40 over 32 with a partial turn
    ssmCase("ssmStep", 2, 1, 4, 64, 1, 128, 1, true),
    ssmCase("ssmStep", 1, 1, 3, 10, 1, 40, 1, false),
  );
  return cases;
}

/** Random shapes from a seed: a matmul, a scan and a step. */
function randomCases(seed: number): Case[] {
  const r = new Rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1));
  const G = int(1, 3);
  const H = G * int(1, 3);
  const dtypes = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k"] as const;
  const dtype = dtypes[int(0, 5)];
  const inDim = isQuantized(dtype) ? QUANT_BLOCKS[dtype].values * int(1, dtype === "q4_k" ? 2 : 5) : int(1, 140);
  return [
    matmulCase(int(1, 9), int(1, 70), inDim, dtype, r.next() < 0.5),
    ssmCase("ssdScan", int(1, 3), int(1, 40), H, int(1, 9), G, int(1, 20), int(1, 16), r.next() < 0.5),
    ssmCase("ssmStep", int(1, 4), 1, H, int(1, 9), G, int(1, 20), 1, false),
    convCase(int(1, 3), int(1, 12), int(1, 30), int(2, 5), "silu", r.next() < 0.5, true),
  ];
}

/**
 * Registers the suite with vitest: `conformanceSuite("wasm", () => createWasmBackend())`. Random shapes come from
 * `seeds` (default: 4 seeds from the current time, printed in the test names so a failure can be replayed).
 */
export function conformanceSuite<T extends Tensor>(name: string, makeBackend: () => Backend<T> | Promise<Backend<T>>, seeds?: number[]): void {
  const runSeeds = seeds ?? Array.from({ length: 4 }, (_, i) => (Date.now() + i * 7919) % 2 ** 31);
  const cases = [...fixedCases(), ...runSeeds.flatMap((s) => randomCases(s).map((c) => ({ ...c, name: `${c.name} (seed ${s})` })))];
  describe(`${name} kernels against the reference`, () => {
    const reference = createReferenceBackend();
    let backend: Backend<T>;
    it.for(cases)("$name", async (c, ctx) => {
      backend ??= await makeBackend();
      if (c.dtype && !(backend.weightDTypes ?? DEFAULT_WEIGHT_DTYPES).includes(c.dtype)) ctx.skip(`the ${backend.name} backend does not read ${c.dtype}`);
      const expected = c.run(reference, () => new Rng(7));
      const actual = c.run(backend, () => new Rng(7));
      for (let i = 0; i < expected.length; i++) {
        const want = expected[i].dtype === "i32" ? await reference.readI32(expected[i]) : await reference.readF32(expected[i]);
        const got = actual[i].dtype === "i32" ? await backend.readI32(actual[i]) : await backend.readF32(actual[i]);
        if (want instanceof Int32Array) expect(Array.from(got)).toEqual(Array.from(want));
        else {
          expect(relErr(got, want), `output ${i}: max |Δ| / scale`).toBeLessThan(KERNEL_TOLERANCE.rel);
          expect(nmse(got, want), `output ${i}: NMSE`).toBeLessThan(KERNEL_TOLERANCE.nmse);
        }
        backend.free(actual[i]);
      }
    });
  });
}
