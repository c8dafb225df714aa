import type { Backend, Tensor } from "./backend.js";
import { type ByteInput, toByteSource } from "./bytes.js";
import { parseConfig, type Mamba2Config } from "./config.js";
import { fail } from "./errors.js";
import { Mamba2Model, type ModelOptions } from "./model.js";
import { createReferenceBackend } from "./reference/index.js";
import { SafetensorsFile } from "./safetensors.js";
import { loadWeights, type TensorStore } from "./weights.js";

export interface LoadOptions<T extends Tensor = Tensor> extends ModelOptions {
  /** Where the model runs (default: the reference backend). */
  backend?: Backend<T>;
}

/** A model in memory or behind web APIs: the config and one or more safetensors shards. */
export interface ModelFiles {
  config: string | object;
  weights: ByteInput | readonly ByteInput[];
}

/** Opens safetensors shards as one store; a tensor present in two shards is an error. */
export async function openSafetensors(inputs: readonly ByteInput[], names?: readonly string[]): Promise<TensorStore> {
  const files = await Promise.all(inputs.map(async (input, i) => SafetensorsFile.open(await toByteSource(input, names?.[i]))));
  if (files.length === 1) return { name: files[0].source.name, tensors: files[0].tensors, bytes: (n) => files[0].bytes(n) };
  const owner = new Map<string, SafetensorsFile>();
  for (const f of files) {
    for (const name of f.tensors.keys()) {
      const other = owner.get(name);
      if (other) fail(`tensor ${name} is in both ${other.source.name} and ${f.source.name}`);
      owner.set(name, f);
    }
  }
  const tensors = new Map([...owner].map(([n, f]) => [n, f.entry(n)]));
  return { name: files.map((f) => f.source.name).join(" + "), tensors, bytes: (n) => owner.get(n)!.bytes(n) };
}

/** Loads a model from a config and safetensors bytes (ArrayBuffer, Blob, Response, or a ByteSource). */
export async function loadModel<T extends Tensor = Tensor>(files: ModelFiles, options: LoadOptions<T> = {}): Promise<Mamba2Model<T>> {
  const inputs = Array.isArray(files.weights) ? files.weights : [files.weights as ByteInput];
  return buildModel(parseConfig(files.config), await openSafetensors(inputs), options);
}

/** Checks the store against the config and uploads the weights to the backend. */
export async function buildModel<T extends Tensor>(config: Mamba2Config, store: TensorStore, options: LoadOptions<T>): Promise<Mamba2Model<T>> {
  const backend = options.backend ?? (createReferenceBackend() as unknown as Backend<T>);
  const bytes = [...store.tensors.values()].reduce((a, e) => a + e.end - e.begin, 0);
  if (backend.maxBytes !== undefined && bytes > backend.maxBytes) {
    const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
    fail(`${store.name}: ${gib(bytes)} of weights do not fit the ${backend.name} backend (at most ${gib(backend.maxBytes)}): use f16 or quantized weights, or the WebGPU backend`);
  }
  return new Mamba2Model(config, backend, await loadWeights(backend, config, store), options);
}
