/**
 * The fused-kernel suite: a backend's optional fusions (rmsNormMatmul, rmsNormMatmulConv, gatedNormMatmulAdd) against the
 * reference running the ops they stand for, on few rows (where a GPU folds the norm into its gemv) and many, odd
 * widths, whole and grouped gated norms, every float dtype and a quantized one; outputs compared like the
 * conformance suite's.
 */
import { describe, expect, it } from "vitest";
import { type Backend, DEFAULT_WEIGHT_DTYPES, type Tensor, type WeightDType } from "../backend.js";
import { fromFloat32 as weightBytes } from "../dtype.js";
import { createReferenceBackend } from "../reference/index.js";
import { Rng } from "../sampling.js";
import { relErr } from "./compare.js";
import { f32, floats, KERNEL_TOLERANCE, nmse } from "./conformance.js";

interface Case {
  name: string;
  kernel: "rmsNormMatmul" | "gatedNormMatmulAdd" | "rmsNormMatmulConv";
  dtype: WeightDType;
  /** The outputs to compare. */
  run<T extends Tensor>(b: Backend<T>, fused: boolean): T[];
}

const tensor = <T extends Tensor>(b: Backend<T>, shape: number[], rng: Rng, scale = 1): T =>
  f32(b, shape, floats(shape.reduce((a, c) => a * c, 1), rng, scale));

const weight = <T extends Tensor>(b: Backend<T>, shape: number[], dtype: WeightDType, rng: Rng): T =>
  b.weight(shape, dtype, weightBytes(floats(shape.reduce((a, c) => a * c, 1), rng), dtype));

/** An RMSNorm-then-product's inputs: x [R, I], the norm's weight [I], w [O, I]. */
function normInputs<T extends Tensor>(b: Backend<T>, rows: number, outDim: number, inDim: number, dtype: WeightDType, rng: Rng) {
  return { x: tensor(b, [rows, inDim], rng, 3), nw: weight(b, [inDim], "f32", rng), w: weight(b, [outDim, inDim], dtype, rng) };
}

function normCase(rows: number, outDim: number, inDim: number, dtype: WeightDType, bias: boolean): Case {
  return {
    name: `rmsNormMatmul R=${rows} O=${outDim} I=${inDim} ${dtype}${bias ? " +bias" : ""}`,
    kernel: "rmsNormMatmul",
    dtype,
    run(b, fused) {
      const rng = new Rng(rows * 1000 + inDim);
      const { x, nw, w } = normInputs(b, rows, outDim, inDim, dtype, rng);
      const bb = bias ? weight(b, [outDim], "f32", rng) : null;
      const out = b.zeros([rows, outDim], "f32");
      if (fused) b.kernels.rmsNormMatmul!(out, x, nw, 1e-5, w, bb);
      else {
        const hn = b.zeros([rows, inDim], "f32");
        b.kernels.rmsNorm(hn, x, nw, 1e-5);
        b.kernels.matmul(out, hn, w, bb);
      }
      return [out];
    },
  };
}

/** in_proj and the conv step of a decode step: B rows, the conv over C columns from `offset`, some rows masked. */
function convCase(batch: number, outDim: number, inDim: number, offset: number, channels: number, k: number, dtype: WeightDType, masked: boolean): Case {
  return {
    name: `rmsNormMatmulConv B=${batch} O=${outDim} I=${inDim} conv ${offset}+${channels} K=${k} ${dtype}${masked ? " masked" : ""}`,
    kernel: "rmsNormMatmulConv",
    dtype,
    run(b, fused) {
      const rng = new Rng(batch * 100 + outDim);
      const { x, nw, w } = normInputs(b, batch, outDim, inDim, dtype, rng);
      const state = tensor(b, [batch, channels, k], rng);
      const mask = masked ? b.zeros([batch, 1], "i32") : null;
      if (mask) b.write(mask, Int32Array.from({ length: batch }, (_, r) => r % 2));
      const conv = { offset, weight: weight(b, [channels, k], dtype, rng), bias: weight(b, [channels], "f32", rng), state, mask, activation: "silu" as const };
      const out = b.zeros([batch, outDim], "f32");
      const xbc = b.zeros([batch, 1, channels], "f32");
      if (fused) b.kernels.rmsNormMatmulConv!(out, xbc, x, nw, 1e-5, w, null, conv);
      else {
        const hn = b.zeros([batch, inDim], "f32");
        b.kernels.rmsNorm(hn, x, nw, 1e-5);
        b.kernels.matmul(out, hn, w, null);
        b.kernels.causalConv1d(xbc, out, offset, conv.weight, conv.bias, state, mask, "silu");
      }
      return [out, xbc, state];
    },
  };
}

function gatedCase(rows: number, outDim: number, e: number, zExtra: number, group: number, dtype: WeightDType, bias: boolean): Case {
  return {
    name: `gatedNormMatmulAdd R=${rows} O=${outDim} E=${e} S=${e + zExtra} group=${group} ${dtype}${bias ? " +bias" : ""}`,
    kernel: "gatedNormMatmulAdd",
    dtype,
    run(b, fused) {
      const rng = new Rng(rows * 1000 + e);
      const y = tensor(b, [1, rows, 2, e / 2], rng, 2); // as the model's [B, T, H, P]
      const z = tensor(b, [rows, e + zExtra], rng, 3);
      const nw = weight(b, [e], "f32", rng);
      const w = weight(b, [outDim, e], dtype, rng);
      const bb = bias ? weight(b, [outDim], "f32", rng) : null;
      const out = tensor(b, [rows, outDim], rng); // the residual
      if (fused) b.kernels.gatedNormMatmulAdd!(out, y, z, nw, 1e-5, group, w, bb);
      else {
        const g = b.zeros([rows, e], "f32");
        const mixed = b.zeros([rows, outDim], "f32");
        b.kernels.gatedRmsNorm(g, y, z, nw, 1e-5, group);
        b.kernels.matmul(mixed, g, w, bb);
        b.kernels.add(out, out, mixed);
      }
      return [out];
    },
  };
}

const CASES: Case[] = [
  normCase(1, 37, 64, "f32", true),
  normCase(3, 50, 30, "f16", false),
  normCase(8, 33, 96, "q8_0", true),
  normCase(2, 21, 256, "q4_k", false),
  normCase(13, 20, 24, "bf16", true),
  normCase(5, 4099, 36, "f16", true), // wide matrices (the GPU's gemv by subgroups), O not a multiple of 8
  normCase(1, 8197, 520, "bf16", false),
  gatedCase(1, 29, 64, 13, 64, "f32", true),
  gatedCase(4, 30, 42, 7, 42, "f16", false),
  gatedCase(8, 24, 32, 6, 32, "q4_0", true),
  gatedCase(2, 40, 48, 5, 16, "f32", false),
  gatedCase(11, 16, 40, 3, 40, "bf16", true),
  gatedCase(3, 4101, 20, 4, 20, "f32", false),
  gatedCase(1, 2050, 1040, 8, 1040, "f16", true),
  gatedCase(9, 40, 4104, 6, 4104, "f16", true), // the GPU gemm's sums split in 4 slices of k, added to the residual
  convCase(1, 70, 48, 20, 36, 4, "f32", false),
  convCase(3, 61, 40, 9, 50, 3, "f16", true),
  convCase(2, 4103, 32, 4000, 60, 4, "f32", true),
  convCase(1, 8199, 40, 8000, 100, 4, "f16", false),
  convCase(9, 45, 24, 5, 30, 4, "bf16", false), // more rows than the GPU's gemv takes
];

/** Registers the suite with vitest; a backend without a fusion skips its cases. */
export function fusedSuite<T extends Tensor>(name: string, makeBackend: () => Backend<T> | Promise<Backend<T>>): void {
  describe(`${name} fused kernels against the reference's ops`, () => {
    const reference = createReferenceBackend();
    let backend: Backend<T>;
    it.for(CASES)("$name", async (c, ctx) => {
      backend ??= await makeBackend();
      if (!backend.kernels[c.kernel]) ctx.skip(`the ${backend.name} backend has no ${c.kernel}`);
      if (!(backend.weightDTypes ?? DEFAULT_WEIGHT_DTYPES).includes(c.dtype)) ctx.skip(`the ${backend.name} backend does not read ${c.dtype}`);
      const want = c.run(reference, false);
      const got = c.run(backend, true);
      for (const [i, t] of got.entries()) {
        const [g, w] = [await backend.readF32(t), await reference.readF32(want[i])];
        expect(relErr(g, w), `output ${i}: max |Δ| / scale`).toBeLessThan(KERNEL_TOLERANCE.rel);
        expect(nmse(g, w), `output ${i}: NMSE`).toBeLessThan(KERNEL_TOLERANCE.nmse);
      }
    });
  });
}
