/**
 * The Node.js / Deno / Bun entry: everything of the main entry, plus model folders and .gguf files on disk, Hub
 * downloads kept in the cache folder, and WebGPU for "auto"/"webgpu": Deno's own navigator.gpu, Node.js's
 * through Dawn (the optional `webgpu` package); Bun has none.
 */
import { stat } from "node:fs/promises";
import { fail, type Mamba2Model, type ModelFiles, type ModelSource, openModelFolder, type SourceOptions } from "@mamba2/core";
import { openModelPath, openSource } from "@mamba2/core/node";
import { nodeGpu } from "@mamba2/gpu-kernels/node";
import { Mamba2Tokenizer } from "@mamba2/tokenizer";
import { loadOpenedOn, type RuntimeLoadOptions, tokenizerOf } from "./load.js";
import { isModelFiles, openFiles } from "./open.js";
import { createRuntime as createWebRuntime, type Runtime, type RuntimeOptions } from "./runtime.js";

export * from "./index.js";
export * from "@mamba2/core"; // (esbuild drops the star re-export of a bundled module)

const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);

/** createRuntime with the runtime's WebGPU found for you (see the header); `gpu` still overrides it. */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const device = options.device ?? "auto";
  if (options.gpu || (device !== "auto" && device !== "webgpu")) return createWebRuntime(options);
  const own = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (own) return createWebRuntime({ ...options, gpu: own });
  if ((globalThis as { process?: { versions?: { bun?: string } } }).process?.versions?.bun) {
    return createWebRuntime({ ...options, gpuUnavailable: "Bun has no WebGPU" });
  }
  const gpu = await nodeGpu().catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
  return createWebRuntime(typeof gpu === "string" ? { ...options, gpuUnavailable: gpu } : { ...options, gpu });
}

/** loadModel of the main entry, plus a path on disk (a model folder of any format, or a .gguf file). */
export async function loadModel(source: ModelSource, options: RuntimeLoadOptions = {}): Promise<Mamba2Model> {
  const runtime = options.runtime ?? (await createRuntime());
  const opened =
    typeof source === "string" && (await isFile(source))
      ? openModelPath(source) // a .gguf file
      : isModelFiles(source)
        ? openFiles(source)
        : openSource(source, options).then(openModelFolder); // a folder (with progress), a URL, a Hub id, Files
  return loadOpenedOn(opened, { ...options, runtime });
}

/** loadTokenizer of the main entry, plus a folder on disk or a .gguf file (its own tokenizer). */
export async function loadTokenizer(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions = {}): Promise<Mamba2Tokenizer> {
  if (typeof source === "string" && (await isFile(source))) {
    const embedded = (await openModelPath(source)).tokenizer;
    return embedded ? Mamba2Tokenizer.fromObjects(embedded.json, embedded.config) : fail(`${source}: this GGUF file holds no tokenizer read here`);
  }
  return tokenizerOf(await openSource(source, options));
}
