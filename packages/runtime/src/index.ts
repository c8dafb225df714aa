/**
 * @mamba2/runtime: Mamba2 models on the best backend of wherever this runs (browsers, Deno, Bun, Node.js,
 * Electron), web-standard APIs only. `createRuntime()` probes and picks, `loadModel(source, { runtime })` loads
 * from a URL, a Hub id, `File`s, a ModelFolder or bytes in memory. Everything of @mamba2/core is re-exported;
 * folder paths on disk are the `./node` entry's.
 */
import { type Mamba2Model, type ModelFiles, type ModelSource, openModelFolder, openSource, type SourceOptions } from "@mamba2/core";
import type { Mamba2Tokenizer } from "@mamba2/tokenizer";
import { loadOpenedOn, type RuntimeLoadOptions, tokenizerOf } from "./load.js";
import { isModelFiles, openFiles } from "./open.js";

export * from "@mamba2/core";
export { Mamba2Tokenizer, TokenizerError } from "@mamba2/tokenizer";
export { type Capabilities, probeCapabilities, type ThreadsProbe, type WasmProbe, type WebGpuProbe } from "./capabilities.js";
export { convertStore, type RuntimeLoadOptions } from "./load.js";
export { type BackendReport, createRuntime, type Device, type DeviceName, DEVICES, type Runtime, type RuntimeOptions } from "./runtime.js";

/** Loads a model on `options.runtime` (default: a new "auto" runtime). */
export async function loadModel(source: ModelSource, options: RuntimeLoadOptions = {}): Promise<Mamba2Model> {
  return loadOpenedOn(isModelFiles(source) ? openFiles(source) : openModelFolder(openSource(source, options)), options);
}

/** The tokenizer of a URL, Hub id, `File`s or ModelFolder (tokenizer.json, or a GGUF file's own). */
export async function loadTokenizer(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions = {}): Promise<Mamba2Tokenizer> {
  return tokenizerOf(openSource(source, options));
}
