import { type Backend, DEFAULT_WEIGHT_DTYPES, type Tensor } from "./backend.js";
import { dimsOf, type Mamba2Config } from "./config.js";
import { toFloat32, weightDType } from "./dtype.js";
import { fail } from "./errors.js";
import type { TensorEntry } from "./safetensors.js";

/** Named tensors from one file or several shards. */
export interface TensorStore {
  readonly name: string;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  bytes(name: string): Promise<Uint8Array>;
}

export interface LayerWeights<T extends Tensor> {
  readonly norm: T; // [D]
  readonly inProj: T; // [E + convDim + H, D]
  readonly inProjBias: T | null;
  readonly convWeight: T; // [convDim, K]
  readonly convBias: T | null;
  readonly dtBias: T; // [H]
  readonly A: T; // [H], -exp(A_log)
  readonly D: T; // [H]
  readonly gatedNorm: T; // [E]
  readonly outProj: T; // [D, E]
  readonly outProjBias: T | null;
}

export interface ModelWeights<T extends Tensor> {
  readonly embeddings: T; // [V, D]
  readonly layers: readonly LayerWeights<T>[];
  readonly normF: T; // [D]
  readonly lmHead: T; // [V, D]; the embeddings when tied
}

/** Every tensor (HF names) a config implies, with its shape. */
export function expectedTensors(config: Mamba2Config): Map<string, number[]> {
  const d = dimsOf(config);
  const m = new Map<string, number[]>([["backbone.embeddings.weight", [d.vocab, d.hidden]]]);
  for (let i = 0; i < d.layers; i++) {
    const p = `backbone.layers.${i}.`;
    m.set(`${p}norm.weight`, [d.hidden]);
    m.set(`${p}mixer.in_proj.weight`, [d.inProj, d.hidden]);
    if (config.use_bias) m.set(`${p}mixer.in_proj.bias`, [d.inProj]);
    m.set(`${p}mixer.conv1d.weight`, [d.convDim, 1, d.convKernel]);
    if (config.use_conv_bias) m.set(`${p}mixer.conv1d.bias`, [d.convDim]);
    m.set(`${p}mixer.dt_bias`, [d.heads]);
    m.set(`${p}mixer.A_log`, [d.heads]);
    m.set(`${p}mixer.D`, [d.heads]);
    m.set(`${p}mixer.norm.weight`, [d.inner]);
    m.set(`${p}mixer.out_proj.weight`, [d.hidden, d.inner]);
    if (config.use_bias) m.set(`${p}mixer.out_proj.bias`, [d.hidden]);
  }
  m.set("backbone.norm_f.weight", [d.hidden]);
  if (!config.tie_word_embeddings) m.set("lm_head.weight", [d.vocab, d.hidden]);
  return m;
}

const list = (names: string[]) => names.slice(0, 5).join(", ") + (names.length > 5 ? ` (and ${names.length - 5} more)` : "");

/** Checks names, shapes and dtypes of the store against the config; throws one line naming what is wrong. */
export function checkTensors(config: Mamba2Config, store: TensorStore): void {
  const expected = expectedTensors(config);
  const missing = [...expected.keys()].filter((n) => !store.tensors.has(n));
  if (missing.length) fail(`${store.name}: missing tensors: ${list(missing)}`);
  const optional = config.tie_word_embeddings ? ["lm_head.weight"] : [];
  const unexpected = [...store.tensors.keys()].filter((n) => !expected.has(n) && !optional.includes(n));
  if (unexpected.length) fail(`${store.name}: unexpected tensors: ${list(unexpected)}`);
  for (const [name, shape] of expected) {
    const e = store.tensors.get(name)!;
    if (e.shape.length !== shape.length || e.shape.some((v, i) => v !== shape[i])) {
      fail(`${store.name}: tensor ${name} has shape [${e.shape.join(", ")}], expected [${shape.join(", ")}] from config.json`);
    }
    weightDType(e.dtype, `${store.name}: tensor ${name}`);
  }
}

/** Checks the store, then uploads every weight to the backend once. */
export async function loadWeights<T extends Tensor>(backend: Backend<T>, config: Mamba2Config, store: TensorStore): Promise<ModelWeights<T>> {
  checkTensors(config, store);
  const d = dimsOf(config);
  const load = async (name: string, shape?: number[]): Promise<T> => {
    const e = store.tensors.get(name)!;
    const dtype = weightDType(e.dtype, name);
    const readable = backend.weightDTypes ?? DEFAULT_WEIGHT_DTYPES;
    if (!readable.includes(dtype)) fail(`${store.name}: tensor ${name} is ${dtype}, which the ${backend.name} backend does not read (it reads ${readable.join(", ")})`);
    try {
      return backend.weight(shape ?? e.shape, dtype, await store.bytes(name));
    } catch (err) {
      if (err instanceof RangeError) fail(`${store.name}: out of memory loading tensor ${name} (${e.end - e.begin} bytes): ${err.message}`);
      throw err;
    }
  };
  const optional = (name: string) => (store.tensors.has(name) ? load(name) : Promise.resolve(null));
  const layers: LayerWeights<T>[] = [];
  for (let i = 0; i < d.layers; i++) {
    const p = `backbone.layers.${i}.`;
    const aLog = store.tensors.get(`${p}mixer.A_log`)!;
    const A = toFloat32(await store.bytes(`${p}mixer.A_log`), weightDType(aLog.dtype, "A_log")).map((v) => -Math.exp(v));
    layers.push({
      norm: await load(`${p}norm.weight`),
      inProj: await load(`${p}mixer.in_proj.weight`),
      inProjBias: config.use_bias ? await optional(`${p}mixer.in_proj.bias`) : null,
      convWeight: await load(`${p}mixer.conv1d.weight`, [d.convDim, d.convKernel]),
      convBias: config.use_conv_bias ? await optional(`${p}mixer.conv1d.bias`) : null,
      dtBias: await load(`${p}mixer.dt_bias`),
      A: backend.weight([d.heads], "f32", new Uint8Array(A.buffer)),
      D: await load(`${p}mixer.D`),
      gatedNorm: await load(`${p}mixer.norm.weight`),
      outProj: await load(`${p}mixer.out_proj.weight`),
      outProjBias: config.use_bias ? await optional(`${p}mixer.out_proj.bias`) : null,
    });
  }
  const embeddings = await load("backbone.embeddings.weight");
  return {
    embeddings,
    layers,
    normF: await load("backbone.norm_f.weight"),
    lmHead: config.tie_word_embeddings ? embeddings : await load("lm_head.weight"),
  };
}
