/**
 * loadModel on a runtime: opens the source (how depends on the entry: web or Node), optionally re-encodes the
 * weight matrices (`dtype`), checks that the weights fit the runtime's backend before reading them — naming
 * what would fit — and uploads them. loadTokenizer reads tokenizer.json from the same kinds of source.
 */
import {
  fail,
  isMatrixWeight,
  loadOpened,
  openModelFolder,
  type Mamba2Model,
  type ModelFolder,
  type OpenedModel,
  type SourceOptions,
  type TensorStore,
  tensorBytes,
  fromFloat32,
  toFloat32,
  type WeightDType,
} from "@mamba2/core";
import { Mamba2Tokenizer } from "@mamba2/tokenizer";
import { createRuntime, type Runtime } from "./runtime.js";

const WEIGHT_DTYPES: readonly WeightDType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k"];

export interface RuntimeLoadOptions extends SourceOptions {
  /** Where the model runs (default: `await createRuntime()`, i.e. device "auto"). */
  runtime?: Runtime;
  /**
   * Storage of the weight matrices (in_proj, out_proj, embeddings, lm_head), re-encoded while loading: "f16"
   * halves an f32 model, "q8_0" / "q4_0" / "q4_k" quantize it. Default: as in the files.
   */
  dtype?: WeightDType;
  /** Normalize the gated RMSNorm per group (default: the format's convention). */
  groupedGatedNorm?: boolean;
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
const storeName = (d: WeightDType) => d.toUpperCase();

/** The store with its matrices re-encoded as `dtype` (sizes and dtypes as they will be uploaded). */
export function convertStore(store: TensorStore, dtype: WeightDType): TensorStore {
  if (!WEIGHT_DTYPES.includes(dtype)) fail(`unknown dtype ${JSON.stringify(dtype)} (expected ${WEIGHT_DTYPES.join(", ")})`);
  const tensors = new Map(
    [...store.tensors].map(([name, e]) => {
      // (a dtype that is not ours stays, for the loader to refuse by name)
      if (!isMatrixWeight(name) || e.dtype === storeName(dtype) || !WEIGHT_DTYPES.map(storeName).includes(e.dtype)) return [name, e];
      return [name, { ...e, dtype: storeName(dtype), begin: 0, end: tensorBytes(e.shape, dtype) }];
    }),
  );
  return {
    name: store.name,
    tensors,
    async bytes(name) {
      const raw = await store.bytes(name);
      const from = store.tensors.get(name)!.dtype;
      if (tensors.get(name)!.dtype === from) return raw;
      return fromFloat32(toFloat32(raw, from.toLowerCase() as WeightDType), dtype);
    },
  };
}

function storeBytes(store: TensorStore): number {
  let n = 0;
  for (const e of store.tensors.values()) n += e.end - e.begin;
  return n;
}

/** Fails, naming what would fit, when the weights exceed the backend's hard limit (a wasm32 memory). */
export function checkFits(opened: OpenedModel, runtime: Runtime, dtype: WeightDType | undefined): void {
  const max = runtime.backend.maxBytes;
  const bytes = storeBytes(opened.store);
  if (max === undefined || bytes <= max) return;
  const ways: string[] = [];
  for (const d of ["f16", "q8_0", "q4_0"] as const) {
    if (d === dtype) continue;
    const smaller = storeBytes(convertStore(opened.store, d));
    if (smaller <= max) ways.push(`dtype "${d}" (${gib(smaller)})`);
  }
  const gpu = runtime.selection.find((r) => r.device === "webgpu");
  const note = !gpu || gpu.reason.startsWith("not probed") ? "not probed" : gpu.available ? "available here" : `not available here: ${gpu.reason}`;
  ways.push(`device "webgpu" (${note})`);
  fail(`${opened.store.name}: ${gib(bytes)} of weights do not fit the ${runtime.device} backend (at most ${gib(max)}); load with ${ways.join(", or ")}`);
}

/** Loads an opened model on the runtime (shared by both entries). */
export async function loadOpenedOn(open: Promise<OpenedModel>, options: RuntimeLoadOptions): Promise<Mamba2Model> {
  const runtime = options.runtime ?? (await createRuntime());
  const opened = await open;
  const store = options.dtype ? convertStore(opened.store, options.dtype) : opened.store;
  const model = { ...opened, store };
  checkFits(model, runtime, options.dtype);
  return loadOpened(model, { backend: runtime.backend, groupedGatedNorm: options.groupedGatedNorm });
}

/** tokenizer.json (+ optional tokenizer_config.json) of a folder, else the tokenizer inside its GGUF file. */
export async function tokenizerOf(folder: ModelFolder): Promise<Mamba2Tokenizer> {
  if (await folder.has("tokenizer.json")) return Mamba2Tokenizer.fromFolder(folder);
  const embedded = (await openModelFolder(folder).catch(() => null))?.tokenizer;
  if (embedded) return Mamba2Tokenizer.fromObjects(embedded.json, embedded.config);
  return fail(`${folder.name}: no tokenizer.json (nor a GGUF file with a tokenizer)`);
}
