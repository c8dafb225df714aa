// What the WASM backend refuses, and how it reports it.
import { buildModel, shapeConfig, syntheticWeights } from "@mamba2/core";
import { describe, expect, it } from "vitest";
import { createWasmBackend } from "../src/index.js";

describe("wasm backend", () => {
  it("refuses an f16 matrix holding an infinity", async () => {
    const be = await createWasmBackend();
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint16(4, 0x7c00, true);
    expect(() => be.weight([2, 2], "f16", bytes)).toThrow(/f16 weight \[2, 2\] holds an infinity or NaN at element 2/);
  });

  it("rejects a model over 4 GiB before loading, naming the way out", async () => {
    const config = shapeConfig("2.7b");
    await expect(buildModel(config, syntheticWeights(config, "f32"), { backend: await createWasmBackend() })).rejects.toThrow(
      /synthetic f32: 10\.\d\d GiB of weights do not fit the wasm backend \(at most 4\.00 GiB\): use f16 or quantized weights, or the WebGPU backend/,
    );
  });

  it("takes the relaxed-SIMD build where the engine validates it: the prefill matmul's multiply-adds are fused", async () => {
    // x·w over two inputs, −1·1 then (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴: rounded after the product the sum is 2⁻¹¹;
    // fused (relaxed_madd on a CPU with FMA, as x86-64 and Arm64 have) it keeps the 2⁻²⁴
    const first = async (relaxedSimd?: boolean) => {
      const be = await createWasmBackend({ relaxedSimd });
      const rows = 32; // the packed (prefill) path
      const x = be.zeros([rows, 2], "f32");
      be.write(x, Float32Array.from({ length: 2 * rows }, (_, k) => (k % 2 ? 1 + 2 ** -12 : -1)));
      const w = be.weight([8, 2], "f32", new Uint8Array(Float32Array.from({ length: 16 }, (_, k) => (k % 2 ? 1 + 2 ** -12 : 1)).buffer));
      const out = be.zeros([rows, 8], "f32");
      be.kernels.matmul(out, x, w, null);
      return { relaxed: be.relaxedSimd, sum: (await be.readF32(out))[0] };
    };
    expect(await first(), "the tests run Node.js with --experimental-wasm-relaxed-simd").toEqual({ relaxed: true, sum: 2 ** -11 + 2 ** -24 });
    expect(await first(false)).toEqual({ relaxed: false, sum: 2 ** -11 });
    expect((await createWasmBackend({ simd: false })).relaxedSimd).toBe(false);
  });

  it("checks its options", async () => {
    await expect(createWasmBackend({ threads: 0 })).rejects.toThrow(/WASM threads must be a positive integer, found 0/);
    await expect(createWasmBackend({ threads: 2, simd: false })).rejects.toThrow(/WASM threads need the SIMD build/);
  });
});

describe("wasm threads", () => {
  it("report a kernel that traps in a worker instead of waiting for it", async () => {
    const be = await createWasmBackend({ threads: 2 });
    const out = be.zeros([1, 8], "f32");
    const x = be.zeros([1, 4], "f32");
    // a weight that claims to lie past the 4 GiB end of memory: every part of the matmul traps
    const w = { ...be.zeros([8, 4], "f32"), ptr: 2 ** 32 - 64 };
    expect(() => be.kernels.matmul(out, x, w, null)).toThrow();
    // the pool still works afterwards
    const good = be.weight([8, 4], "f32", new Uint8Array(new Float32Array(32).fill(1).buffer));
    be.write(x, Float32Array.from([1, 2, 3, 4]));
    be.kernels.matmul(out, x, good, null);
    expect(Array.from(await be.readF32(out))).toEqual(new Array(8).fill(10));
    be.dispose();
  });
});
