// What the WebGPU backend promises beyond the kernels: one submit per decode step, its profiler, clear errors.
import { fileURLToPath } from "node:url";
import { generateAll, type HostTensor } from "@mamba2/core";
import { relErr } from "@mamba2/core/testing";
import { loadModelFromDir } from "@mamba2/core/node";
import { describe, expect, it } from "vitest";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

const tiny = fileURLToPath(new URL("../../../fixtures/tiny", import.meta.url));
const expectClose = (a: HostTensor, b: HostTensor) => {
  expect(a.dims).toEqual(b.dims);
  expect(relErr(a.data, b.data)).toBeLessThan(1e-5);
};

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

  it("stacks a cache's states in one buffer per kind: the layers' states match the reference's, and so do a clone's", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const model = await loadModelFromDir(tiny, { backend: be });
    const reference = await loadModelFromDir(tiny);
    const [cache, expected] = [model.createCache(2), reference.createCache(2)];
    await model.forward([[1, 2, 3], [4, 5, 6]], { cache });
    await reference.forward([[1, 2, 3], [4, 5, 6]], { cache: expected });
    expect(new Set(cache.conv.map((t) => t.parts[0].buffer)).size).toBe(1);
    expect(new Set(cache.ssm.map((t) => t.parts[0].buffer)).size).toBe(1);
    const clone = cache.clone(); // one copy per kind
    for (const c of [cache, clone]) {
      for (let l = 0; l < cache.conv.length; l++) {
        expectClose(await c.convState(l), await expected.convState(l));
        expectClose(await c.ssmState(l), await expected.ssmState(l));
      }
    }
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

  it("replays recorded commands under their key without calling the recorder; freeing a tensor forgets them", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const x = be.zeros([3], "f32");
    const one = be.zeros([3], "f32");
    be.write(one, Float32Array.of(1, 2, 3));
    let records = 0;
    const addOne = () => (records++, be.kernels.add(x, x, one));
    for (let i = 0; i < 3; i++) be.replay!("x += one", addOne);
    expect([...(await be.readF32(x))]).toEqual([3, 6, 9]);
    expect(records).toBe(1);
    be.free(be.zeros([1], "f32"));
    be.replay!("x += one", addOne);
    expect(records, "recorded again after a free").toBe(2);
    expect([...(await be.readF32(x))]).toEqual([4, 8, 12]);
    expect(() => be.replay!("write", () => be.write(x, Float32Array.of(0, 0, 0)))).toThrow(/^a host write while commands are recorded for replay/);
    be.dispose();
  });

  it("decodes by replaying one recorded step: the reference's tokens, with rows ending at EOS", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const model = await loadModelFromDir(tiny, { backend: be });
    const reference = await loadModelFromDir(tiny);
    let calls = 0;
    const kernels = be.kernels as unknown as Record<string, (...a: unknown[]) => void>;
    for (const [name, f] of Object.entries(kernels)) kernels[name] = (...a) => (calls++, f(...a));
    const prompts = [[1, 2, 3], [4, 5, 0]];
    const run = async (maxNewTokens: number, eosTokenId: number | null) => {
      calls = 0;
      const tokens = await generateAll(model, prompts, { maxNewTokens, eosTokenId });
      expect(tokens).toEqual(await generateAll(reference, prompts, { maxNewTokens, eosTokenId }));
      return { tokens, calls };
    };
    const short = await run(3, null);
    const long = await run(12, null);
    expect(long.calls, "steps after the first call no kernel").toBe(short.calls);
    const eos = long.tokens[0][4]; // row 0 ends there, row 1 goes on masked (unless it meets the same id first)
    const ended = await run(12, eos);
    expect(ended.tokens[0]).toEqual(long.tokens[0].slice(0, 5));
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

  it("copies tensors by a kernel: odd sizes, stacked tensors whole and one by one; not within one stack", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const data = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => seed + i / 8);
    const [a, b] = [be.zeros([37], "f32"), be.zeros([37], "f32")];
    be.write(a, data(37, 1));
    be.copy(b, a);
    expect(await be.readF32(b)).toEqual(data(37, 1));
    const [s, t] = [be.stack!([5, 7], 3)!, be.stack!([5, 7], 3)!]; // 140-byte items, 256 bytes apart
    s.items.forEach((item, i) => be.write(item, data(35, 10 * i)));
    be.copy(t.whole, s.whole);
    for (const [i, item] of t.items.entries()) expect(await be.readF32(item)).toEqual(data(35, 10 * i));
    be.copy(t.items[0], s.items[2]);
    expect(await be.readF32(t.items[0])).toEqual(data(35, 20));
    expect(() => be.copy(s.items[1], s.items[0])).toThrow(/^copy: the source and the destination are in one buffer/);
    be.dispose();
  });

  it("measures its memory's read bandwidth between the steps of a decode, which go on unchanged", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const model = await loadModelFromDir(tiny, { backend: be });
    const [a, b] = [model.createCache(1), model.createCache(1)];
    const first = await model.nextGreedy([1, 2, 3], a);
    expect(await model.nextGreedy([1, 2, 3], b)).toEqual(first);
    const before = await model.nextGreedy([first[0]], a); // the step from cache a before the probe, from b after it
    const bw = await be.memoryBandwidth();
    // anything from a CPU driver's (SwiftShader) to an HBM GPU's
    expect(bw).toBeGreaterThan(1e7);
    expect(bw).toBeLessThan(1e14);
    expect(await model.nextGreedy([first[0]], b)).toEqual(before);
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
