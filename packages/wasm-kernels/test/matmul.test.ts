// The packed prefill matmul (R ≥ 8 rows for 16-bit w, ≥ 32 otherwise) against the reference, with the
// conformance suite's tolerances, on shapes that leave remainders everywhere: rows past the last 4-row tile,
// outputs past the last 8-output panel of a thread, inputs past the last 512-input block and past a multiple of 4.
// Then f16 decode (R < 8), whose x is scaled by 2^56 unless max|x| ≥ 2^72, with subnormal weights in some blocks,
// with and without the map of those blocks.
import { createReferenceBackend, fromFloat32, Rng, type Backend, type Tensor, type WeightDType } from "@mamba2/core";
import { KERNEL_TOLERANCE, nmse, relErr } from "@mamba2/core/testing";
import { describe, expect, it } from "vitest";
import { createWasmBackend } from "../src/index.js";

const floats = (n: number, rng: Rng) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);

/** Scales of the inputs: x by `x`; every `tinyEvery`-th weight by 2^-16 (an f16 subnormal). */
interface Scales {
  x?: number;
  tinyEvery?: number;
}

/** out = x·wᵀ (+ bias) on backend b, read back; the same seed gives both backends the same inputs. */
async function matmul<T extends Tensor>(b: Backend<T>, rows: number, outDim: number, inDim: number, dtype: WeightDType, bias: boolean, scales: Scales = {}): Promise<Float32Array> {
  const rng = new Rng(11);
  const wv = floats(outDim * inDim, rng);
  if (scales.tinyEvery) for (let i = 0; i < wv.length; i += scales.tinyEvery) wv[i] *= 2 ** -16;
  const w = b.weight([outDim, inDim], dtype, fromFloat32(wv, dtype));
  const bb = bias ? b.weight([outDim], "f32", fromFloat32(floats(outDim, rng), "f32")) : null;
  const x = b.zeros([rows, inDim], "f32");
  b.write(x, floats(rows * inDim, rng).map((v) => v * (scales.x ?? 1)));
  const out = b.zeros([rows, outDim], "f32");
  b.kernels.matmul(out, x, w, bb);
  return b.readF32(out);
}

// [R, O, I, dtype]: quantized I in whole blocks (32 values, 256 for q4_k)
const CASES: [number, number, number, WeightDType][] = [
  [37, 45, 530, "f32"],
  [9, 21, 1030, "f16"],
  [35, 40, 518, "bf16"],
  [33, 27, 544, "q8_0"],
  [34, 19, 96, "q4_0"],
  [32, 26, 768, "q4_k"],
];

describe("wasm packed matmul against the reference", () => {
  const reference = createReferenceBackend();
  for (const threads of [1, 3]) {
    it.for(CASES.flatMap((c) => [false, true].map((bias) => [...c, bias] as const)))(`R=%i O=%i I=%i %s bias %s, ${threads} thread(s)`, async ([R, O, I, dtype, bias]) => {
      const be = await createWasmBackend({ threads });
      const want = await matmul(reference, R, O, I, dtype, bias);
      const got = await matmul(be, R, O, I, dtype, bias);
      be.dispose();
      expect(relErr(got, want)).toBeLessThan(KERNEL_TOLERANCE.rel);
      expect(nmse(got, want)).toBeLessThan(KERNEL_TOLERANCE.nmse);
    });
  }
});

describe("wasm f16 decode matmul against the reference", () => {
  const reference = createReferenceBackend();
  // [R, O, I, x scale, every n-th weight subnormal]: x up to just below 2^72 takes the scaled path, from 2^72 the exact one
  const DECODE: [number, number, number, number, number][] = [
    [1, 45, 530, 1, 0],
    [3, 21, 1030, 1, 7],
    [1, 64, 768, 1, 1],
    [2, 37, 70, 2 ** 71, 5],
    [1, 40, 96, 2 ** 80, 3],
    [1, 40, 96, 2 ** -60, 2],
  ];
  for (const [threads, subnormalMap] of [[1, true], [3, true], [1, false], [3, false]] as const) {
    it.for(DECODE)(`R=%i O=%i I=%i x·%s, every %i-th weight subnormal, ${threads} thread(s), subnormal map ${subnormalMap}`, async ([R, O, I, x, tinyEvery]) => {
      const be = await createWasmBackend({ threads, subnormalMap });
      expect(be.subnormalMap).toBe(subnormalMap);
      const want = await matmul(reference, R, O, I, "f16", false, { x, tinyEvery });
      const got = await matmul(be, R, O, I, "f16", false, { x, tinyEvery });
      be.dispose();
      expect(relErr(got, want)).toBeLessThan(KERNEL_TOLERANCE.rel);
      expect(nmse(got, want)).toBeLessThan(KERNEL_TOLERANCE.nmse);
    });
  }
});
