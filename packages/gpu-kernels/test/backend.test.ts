// What the WebGPU backend promises beyond the kernels: one submit per decode step, its profiler, clear errors.
import { fileURLToPath } from "node:url";
import { generateAll } from "@mamba2/core";
import { loadModelFromDir } from "@mamba2/core/node";
import { describe, expect, it } from "vitest";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

const tiny = fileURLToPath(new URL("../../../fixtures/tiny", import.meta.url));

describe("webgpu backend", () => {
  it("submits once per greedy decode step and reads back only the ids", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const model = await loadModelFromDir(tiny, { backend: be });
    const cache = model.createCache(1);
    let next = await model.nextGreedy([1, 2, 3], cache);
    const before = be.submits;
    for (let i = 0; i < 3; i++) next = await model.nextGreedy([next[0]], cache);
    expect(be.submits - before).toBe(3);
    be.dispose();
  });

  it("samples on the GPU: one submit per step, the reference's tokens for the same seed", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const model = await loadModelFromDir(tiny, { backend: be });
    const reference = await loadModelFromDir(tiny);
    const options = { temperature: 0.9, topK: 20, topP: 0.9, minP: 0.02, seed: [5, 6], maxNewTokens: 12, eosTokenId: null };
    const prompts = [[1, 2, 3], [4, 5]];
    const before = be.submits;
    const tokens = await generateAll(model, prompts, options);
    expect(be.submits - before, "one per step: prefill, then 11 decode steps").toBe(12);
    expect(tokens).toEqual(await generateAll(reference, prompts, options));
    be.dispose();
  });

  it("times each program on the GPU while profiling", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const model = await loadModelFromDir(tiny, { backend: be });
    const cache = model.createCache(1);
    be.startProfile();
    await model.nextGreedy([1, 2, 3], cache);
    const profile = await be.stopProfile();
    const layers = model.dims.layers;
    const count = (prefix: string) => [...profile].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v.count, 0);
    expect(count("matmul/"), "in_proj and out_proj per layer, and lm_head").toBe(2 * layers + 1);
    expect(count("ssd-scan/")).toBe(layers);
    expect(count("causal-conv1d/"), "one dispatch per layer for 3 positions (≤ 16)").toBe(layers);
    for (const { ms } of profile.values()) expect(ms).toBeGreaterThanOrEqual(0);
    be.dispose();
  });

  it("a lost device fails the next call with the reason", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const x = be.zeros([4], "f32");
    be.device.destroy();
    await be.device.lost;
    expect(() => be.kernels.add(x, x, x)).toThrow(/^the WebGPU device was lost \(destroyed\)/);
  });

  it("fails with the reason when there is no WebGPU", async () => {
    await expect(createWebGpuBackend({ gpu: undefined as unknown as GPU, adapter: undefined })).rejects.toThrow(/WebGPU is not available here|no WebGPU adapter/);
  });
});
