import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Mamba2Error, shapeConfig, syntheticWeights } from "@mamba2/core";
import { describe, expect, it } from "vitest";
import * as web from "../src/index.js";
import { checkFits } from "../src/load.js";
import { createRuntime, generateAll, loadModel, loadTokenizer } from "../src/node.js";

const MODEL = fileURLToPath(new URL("../../../models/mamba2-shakespeare", import.meta.url));
const GOLDEN = JSON.parse(readFileSync(`${MODEL}/golden.json`, "utf8")) as Record<string, string>;

/** A WebGPU entry point whose adapter is the given one (or none). */
function fakeGpu(adapter: Partial<GPUAdapter> | null): GPU {
  return { requestAdapter: async () => adapter } as unknown as GPU;
}
const swiftshader = {
  info: { vendor: "google", architecture: "swiftshader", device: "", description: "SwiftShader" },
  features: new Set(["subgroups"]),
  limits: { maxStorageBufferBindingSize: 2 ** 30 },
} as unknown as GPUAdapter;

describe("createRuntime", () => {
  it("auto without WebGPU picks WASM and reports every backend", async () => {
    const rt = await web.createRuntime({ gpu: fakeGpu(null) });
    expect(rt.device).toBe("wasm");
    expect(rt.backend.name).toMatch(/wasm/);
    expect(rt.selection.map((r) => [r.device, r.available, r.chosen])).toEqual([
      ["webgpu", false, false],
      ["wasm", true, true],
      ["reference", true, false],
    ]);
    expect(rt.selection[0].reason).toMatch(/no WebGPU adapter/);
    expect(rt.selection[1].reason).toBe("chosen: SIMD, 1 thread");
    expect(rt.capabilities.wasm).toEqual({ available: true, simd: true });
    expect(rt.capabilities.threads.available).toBe(true);
    rt.dispose();
  });

  it("auto passes over a software adapter, saying so", async () => {
    const rt = await web.createRuntime({ gpu: fakeGpu(swiftshader) });
    expect(rt.device).toBe("wasm");
    expect(rt.selection[0]).toEqual({
      device: "webgpu",
      available: true,
      chosen: false,
      reason: "software adapter google swiftshader SwiftShader (subgroups, 1024 MiB bindings): not chosen, WASM is faster on a CPU (allowSoftwareGpu: true to use it)",
    });
    expect(rt.capabilities.webgpu.features).toEqual(["subgroups"]);
    expect(await web.probeCapabilities({ gpu: fakeGpu(swiftshader) })).toMatchObject({
      webgpu: { available: true, features: ["subgroups"], limits: { maxStorageBufferBindingSize: 2 ** 30 } },
      wasm: { available: true, simd: true },
      threads: { available: true },
    });
  });

  it("an explicit device that cannot run fails with the reason", async () => {
    await expect(web.createRuntime({ device: "webgpu", gpu: fakeGpu(null) })).rejects.toThrow(
      /^device "webgpu" is not available: no WebGPU adapter/,
    );
    await expect(web.createRuntime({ device: "webgpu", gpuUnavailable: "Bun has no WebGPU" })).rejects.toThrow(
      'device "webgpu" is not available: Bun has no WebGPU',
    );
    await expect(web.createRuntime({ device: "cuda" as never })).rejects.toThrow('unknown device "cuda" (expected auto, webgpu, wasm, reference)');
    await expect(web.createRuntime({ device: "reference", threads: 2 })).rejects.toThrow("threads apply to the wasm backend, not reference");
    await expect(web.createRuntime({ threads: 0 })).rejects.toBeInstanceOf(Mamba2Error);
  });

  it("explicit devices are the only ones probed", async () => {
    const rt = await web.createRuntime({ device: "reference" });
    expect(rt.device).toBe("reference");
    expect(rt.selection.map((r) => r.reason)).toEqual([
      'not probed: device "reference" was asked for',
      'not probed: device "reference" was asked for',
      "chosen: asked for",
    ]);
    const threaded = await createRuntime({ device: "wasm", threads: 2 });
    expect([threaded.device, threaded.threads]).toEqual(["wasm", 2]);
    threaded.dispose();
  });

  it("threads on a page without cross-origin isolation: auto falls back and says why, an explicit wasm fails", async () => {
    const g = globalThis as { crossOriginIsolated?: boolean };
    g.crossOriginIsolated = false;
    const why = "WASM threads need a cross-origin isolated page (crossOriginIsolated is false): serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or use threads: 1";
    try {
      await expect(web.probeCapabilities({ gpu: fakeGpu(null) })).resolves.toMatchObject({ threads: { available: false, reason: why } });
      const rt = await web.createRuntime({ gpu: fakeGpu(null), threads: 4 });
      expect([rt.device, rt.threads]).toEqual(["wasm", 1]);
      expect(rt.selection[1].reason).toBe(`chosen: SIMD, 1 thread (not 4: ${why})`);
      await expect(web.createRuntime({ device: "wasm", threads: 4 })).rejects.toThrow(`threads: 4 is not possible here: ${why}`);
    } finally {
      delete g.crossOriginIsolated;
    }
  });

  it("the Node entry finds Dawn, or says why not", async () => {
    const rt = await createRuntime();
    expect(rt.device).not.toBe("reference");
    const gpu = rt.selection[0];
    expect(gpu.device).toBe("webgpu");
    expect(gpu.reason.length).toBeGreaterThan(10);
    rt.dispose();
  });
});

describe("loadModel", () => {
  it("generates the golden text from a folder on disk (Node entry) and from bytes (web entry)", async () => {
    const rt = await createRuntime({ device: "wasm" });
    const tokenizer = await loadTokenizer(MODEL);
    const prompt = tokenizer.encode(GOLDEN.prompts[0]);
    const events: { file: string; state: string; totalLoaded: number; totalBytes: number }[] = [];
    const fromDisk = await loadModel(MODEL, { runtime: rt, onProgress: (e) => events.push(e) });
    const size = readFileSync(`${MODEL}/model.safetensors`).length + readFileSync(`${MODEL}/config.json`).length;
    expect(events.at(-1)).toMatchObject({ totalLoaded: size, totalBytes: size });
    expect(events.filter((e) => e.state === "done").map((e) => e.file).sort()).toEqual(["config.json", "model.safetensors"]);
    const [a] = await generateAll(fromDisk, [prompt], { maxNewTokens: 24, temperature: 0 });
    expect(GOLDEN["greedy_text.0"].startsWith(GOLDEN.prompts[0] + tokenizer.decode(a))).toBe(true);
    expect(tokenizer.decode(a).length).toBeGreaterThan(40);

    const files = { config: readFileSync(`${MODEL}/config.json`, "utf8"), weights: new Blob([readFileSync(`${MODEL}/model.safetensors`)]) };
    const fromBytes = await web.loadModel(files, { runtime: rt });
    expect(await generateAll(fromBytes, [prompt], { maxNewTokens: 24, temperature: 0 })).toEqual([a]);
    rt.dispose();
  });

  it("loads a .gguf file with its own tokenizer", async () => {
    const rt = await createRuntime({ device: "wasm" });
    const file = fileURLToPath(new URL("../../../fixtures/gguf/shakespeare-f32.gguf", import.meta.url));
    const [model, tokenizer] = await Promise.all([loadModel(file, { runtime: rt }), loadTokenizer(file)]);
    const [ids] = await generateAll(model, [tokenizer.encode(GOLDEN.prompts[0])], { maxNewTokens: 16, temperature: 0 });
    expect(GOLDEN["greedy_text.0"].startsWith(GOLDEN.prompts[0] + tokenizer.decode(ids))).toBe(true);
    rt.dispose();
  });

  it("re-encodes the matrices as dtype", async () => {
    const rt = await createRuntime({ device: "wasm" });
    const before = (rt.backend as unknown as { bytesInUse: number }).bytesInUse;
    const f32 = await loadModel(MODEL, { runtime: rt });
    const mid = (rt.backend as unknown as { bytesInUse: number }).bytesInUse;
    const f16 = await loadModel(MODEL, { runtime: rt, dtype: "f16" });
    const after = (rt.backend as unknown as { bytesInUse: number }).bytesInUse;
    expect(after - mid).toBeLessThan(0.6 * (mid - before));
    const tokenizer = await loadTokenizer(MODEL);
    const prompt = tokenizer.encode(GOLDEN.prompts[0]);
    const [a] = await generateAll(f16, [prompt], { maxNewTokens: 8, temperature: 0 });
    expect(a).toEqual((await generateAll(f32, [prompt], { maxNewTokens: 8, temperature: 0 }))[0]);
    await expect(loadModel(MODEL, { runtime: rt, dtype: "f8" as never })).rejects.toThrow('unknown dtype "f8"');
    rt.dispose();
  });

  it("refuses a model too large for the backend before reading it, naming what fits", async () => {
    const rt = await createRuntime({ device: "wasm" });
    const config = shapeConfig("2.7b");
    const opened = { format: "transformers" as const, config, store: syntheticWeights(config, "f32"), groupedGatedNorm: false, tokenizer: null };
    expect(() => checkFits(opened, rt, undefined)).toThrow(
      /^synthetic.*: 10\.\d\d GiB of weights do not fit the wasm backend \(at most 4\.00 GiB\); load with dtype "q8_0" \(2\.\d\d GiB\), or dtype "q4_0" \(1\.\d\d GiB\), or device "webgpu" \(not probed\)$/,
    );
    rt.dispose();
  });

  it("names a missing tokenizer and a bad source", async () => {
    await expect(loadTokenizer(`${MODEL}/../../fixtures/tiny`)).rejects.toThrow(/no tokenizer\.json/);
    await expect(loadModel("./no/such/dir", { runtime: await createRuntime({ device: "reference" }) })).rejects.toThrow(/no such folder/);
  });
});
