// The decode conv (one position a row, K = 4: step4 in assembly/causal-conv1d.ts) against the reference, output and
// state, for every weight dtype and activation, a masked row in the batch and channels past the last group of 4.
import { type Activation, createReferenceBackend, fromFloat32, Rng, type Backend, type Tensor, type WeightDType } from "@mamba2/core";
import { KERNEL_TOLERANCE, nmse, relErr } from "@mamba2/core/testing";
import { describe, expect, it } from "vitest";
import { createWasmBackend } from "../src/index.js";

const floats = (n: number, rng: Rng) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);

/** [out, state] after one conv step of B = 3 rows (the middle one masked) over C channels read at offset 3. */
async function convStep<T extends Tensor>(b: Backend<T>, channels: number, dtype: WeightDType, act: Activation): Promise<Float32Array[]> {
  const rng = new Rng(5);
  const [B, K, S] = [3, 4, channels + 7];
  const w = b.weight([channels, K], dtype, fromFloat32(floats(channels * K, rng), dtype));
  const bias = b.weight([channels], "f32", fromFloat32(floats(channels, rng), "f32"));
  const state = b.zeros([B, channels, K], "f32");
  b.write(state, floats(B * channels * K, rng));
  const x = b.zeros([B, 1, S], "f32");
  b.write(x, floats(B * S, rng));
  const mask = b.zeros([B, 1], "i32");
  b.write(mask, Int32Array.from([1, 0, 1]));
  const out = b.zeros([B, 1, channels], "f32");
  b.kernels.causalConv1d(out, x, 3, w, bias, state, mask, act);
  return [await b.readF32(out), await b.readF32(state)];
}

describe("wasm conv step against the reference", () => {
  const reference = createReferenceBackend();
  const cases = (["f32", "f16", "bf16"] as const).flatMap((dtype) => (["silu", "relu", "identity"] as const).map((act) => [dtype, act] as const));
  for (const threads of [1, 3]) {
    it.for(cases)(`C=37 %s %s, ${threads} thread(s)`, async ([dtype, act]) => {
      const be = await createWasmBackend({ threads });
      const want = await convStep(reference, 37, dtype, act);
      const got = await convStep(be, 37, dtype, act);
      be.dispose();
      for (const k of [0, 1]) {
        expect(relErr(got[k], want[k])).toBeLessThan(KERNEL_TOLERANCE.rel);
        expect(nmse(got[k], want[k])).toBeLessThan(KERNEL_TOLERANCE.nmse);
      }
    });
  }
});
