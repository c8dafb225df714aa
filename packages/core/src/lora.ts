/**
 * PEFT LoRA adapters: `adapter_config.json` + `adapter_model.safetensors` as PEFT saves them (keys
 * `base_model.model.<module>.lora_A.weight` [r, in] / `lora_B.weight` [out, r] on linear layers,
 * `…embeddings.lora_embedding_A` [r, V] / `lora_embedding_B` [D, r] on the embedding). A module's output gains
 * `scaling · B·(A·x)` (embedding: `scaling · B·A[:, id]`), scaling = lora_alpha / r (lora_alpha / √r with
 * use_rslora; `rank_pattern` / `alpha_pattern` per module). Applied at run time (`uploadLora`, the model's
 * `lora`) or merged into the weights (`mergeLora`: W + scaling·B·A, in W's dtype).
 */
import type { Backend, Tensor } from "./backend.js";
import { dimsOf, type Mamba2Config, type Mamba2Dims, parseConfig } from "./config.js";
import { fromFloat32, toFloat32, weightDType } from "./dtype.js";
import { fail } from "./errors.js";
import type { ModelFolder } from "./folder.js";
import { parseJson } from "./json.js";
import { openSafetensors } from "./load.js";
import type { TensorStore } from "./weights.js";

/** The modules a LoRA adapter may target (transformers' names, last component). */
export const LORA_TARGETS = ["embeddings", "in_proj", "out_proj", "lm_head"] as const;

/** One adapted module, in float32 on the host. */
export interface LoraModule {
  /** transformers' module name, e.g. `backbone.layers.0.mixer.in_proj`. */
  readonly module: string;
  readonly kind: "linear" | "embedding";
  readonly rank: number;
  readonly scaling: number;
  /** Linear: lora_A [r, in]. Embedding: lora_embedding_A [r, V]. */
  readonly A: Float32Array;
  /** Linear: lora_B [out, r]. Embedding: lora_embedding_B [D, r]. */
  readonly B: Float32Array;
  /** Linear: in, out features. Embedding: V, D. */
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface LoraAdapter {
  /** Where it came from, for messages. */
  readonly name: string;
  /** adapter_config.json as read. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly modules: ReadonlyMap<string, LoraModule>;
}

/** An adapted module on a backend: A (embedding: Aᵀ [V, r]) and scaling·B, both f32. */
export interface LoraPair<T extends Tensor> {
  readonly rank: number;
  readonly A: T;
  readonly B: T;
}

/** An adapter on a backend, as the model applies it at run time. */
export interface LoraWeights<T extends Tensor> {
  readonly embeddings: LoraPair<T> | null;
  readonly inProj: readonly (LoraPair<T> | null)[];
  readonly outProj: readonly (LoraPair<T> | null)[];
  readonly lmHead: LoraPair<T> | null;
}

/** Reads `adapter_config.json` and `adapter_model.safetensors` from a folder. */
export async function openLoraAdapter(folder: ModelFolder): Promise<LoraAdapter> {
  const at = (file: string) => `${folder.name.replace(/\/$/, "")}/${file}`;
  if (!(await folder.has("adapter_config.json"))) fail(`${folder.name}: not a PEFT adapter folder (no adapter_config.json)`);
  if (!(await folder.has("adapter_model.safetensors"))) {
    const bin = await folder.has("adapter_model.bin");
    fail(`${folder.name}: no adapter_model.safetensors${bin ? " (adapter_model.bin is a pickle, which is not read here: save the adapter with safe_serialization=True)" : ""}`);
  }
  const config = parseJson(await folder.text("adapter_config.json"), at("adapter_config.json"));
  return loraAdapter(config as object, await openSafetensors([await folder.source("adapter_model.safetensors")]), at("adapter_config.json"));
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** An adapter from its parsed config and its tensors; `source` names the config in messages. */
export async function loraAdapter(config: object, store: TensorStore, source = "adapter_config.json"): Promise<LoraAdapter> {
  if (!isObject(config)) fail(`${source}: expected a JSON object`);
  const c = config;
  const bad = (field: string, why: string): never => fail(`${source}: ${field} is ${JSON.stringify(c[field])}: ${why}`);
  if (c.peft_type !== "LORA") bad("peft_type", `only "LORA" adapters are supported`);
  if (c.use_dora) bad("use_dora", "DoRA adapters are not supported");
  if ((c.bias ?? "none") !== "none") bad("bias", `only "none" is supported`);
  if (c.lora_bias) bad("lora_bias", "LoRA biases are not supported");
  if (c.fan_in_fan_out) bad("fan_in_fan_out", "not supported (Mamba2's linear layers are nn.Linear)");
  for (const k of ["modules_to_save", "trainable_token_indices", "target_parameters", "layer_replication", "alora_invocation_tokens"]) {
    const v = c[k];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && !(isObject(v) && Object.keys(v).length === 0)) bad(k, "not supported");
  }
  for (const k of ["use_qalora", "use_bdlora"]) if (c[k]) bad(k, "not supported");
  if (!Number.isInteger(c.r) || (c.r as number) <= 0) bad("r", "expected a positive integer");
  const alpha = c.lora_alpha ?? 8;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) bad("lora_alpha", "expected a number");
  const rankPattern = (c.rank_pattern ?? {}) as Record<string, unknown>;
  const alphaPattern = (c.alpha_pattern ?? {}) as Record<string, unknown>;
  if (!isObject(rankPattern)) bad("rank_pattern", "expected an object");
  if (!isObject(alphaPattern)) bad("alpha_pattern", "expected an object");
  if (Array.isArray(c.target_modules)) {
    const unsupported = c.target_modules.filter((t) => !(LORA_TARGETS as readonly unknown[]).includes(t));
    if (unsupported.length) bad("target_modules", `LoRA on ${unsupported.join(", ")} is not supported (targets: ${LORA_TARGETS.join(", ")})`);
  }

  const pairs = new Map<string, { A?: string; B?: string; kind: "linear" | "embedding" }>();
  for (const key of store.tensors.keys()) {
    const where = `${store.name}: tensor ${key}`;
    if (key.includes("lora_magnitude_vector")) fail(`${where}: DoRA adapters are not supported`);
    const m = /^base_model\.model\.(.+)\.(lora_A\.weight|lora_B\.weight|lora_embedding_A|lora_embedding_B)$/.exec(key);
    if (!m) fail(`${where}: not a LoRA tensor (expected base_model.model.<module>.lora_A.weight, lora_B.weight, lora_embedding_A or lora_embedding_B)`);
    const [, module, part] = m;
    const kind = part.startsWith("lora_embedding") ? "embedding" : "linear";
    const expected = /^backbone\.embeddings$/.test(module) ? "embedding" : /^(backbone\.layers\.\d+\.mixer\.(in|out)_proj|lm_head)$/.test(module) ? "linear" : null;
    if (expected === null) fail(`${where}: LoRA on ${module} is not supported (targets: ${LORA_TARGETS.join(", ")})`);
    if (kind !== expected) fail(`${where}: ${module} is ${expected === "linear" ? "a linear layer" : "an embedding"} but the tensor is ${part}`);
    const p = pairs.get(module) ?? { kind };
    p[part.includes("_A") ? "A" : "B"] = key;
    pairs.set(module, p);
  }
  if (pairs.size === 0) fail(`${store.name}: no LoRA tensors`);

  const modules = new Map<string, LoraModule>();
  for (const [module, p] of pairs) {
    if (!p.A || !p.B) fail(`${store.name}: ${module} has ${p.A ? "lora_A" : "lora_B"} but no ${p.A ? "lora_B" : "lora_A"}`);
    const a = store.tensors.get(p.A)!;
    const b = store.tensors.get(p.B)!;
    const rank = a.shape[0];
    if (a.shape.length !== 2 || b.shape.length !== 2 || b.shape[1] !== rank) {
      fail(`${store.name}: ${module}: lora_A [${a.shape.join(", ")}] and lora_B [${b.shape.join(", ")}] are not [r, in] and [out, r]`);
    }
    const key = patternKey(Object.keys(rankPattern), module);
    const r = key !== null ? rankPattern[key] : c.r;
    if (r !== rank) fail(`${store.name}: ${module}: lora_A has rank ${rank} but ${source} says r ${JSON.stringify(r)}`);
    const akey = patternKey(Object.keys(alphaPattern), module);
    const moduleAlpha = akey !== null ? alphaPattern[akey] : alpha;
    if (typeof moduleAlpha !== "number") fail(`${source}: alpha_pattern for ${module} is ${JSON.stringify(moduleAlpha)}, expected a number`);
    const read = async (name: string) => toFloat32(await store.bytes(name), weightDType(store.tensors.get(name)!.dtype, `${store.name}: tensor ${name}`));
    modules.set(module, {
      module,
      kind: p.kind,
      rank,
      scaling: moduleAlpha / (c.use_rslora ? Math.sqrt(rank) : rank),
      A: await read(p.A),
      B: await read(p.B),
      inFeatures: a.shape[1],
      outFeatures: b.shape[0],
    });
  }
  return { name: store.name, config: c, modules };
}

/** PEFT's per-module pattern match: the first key k such that the module name is k or ends with `.k` (k a regex). */
function patternKey(keys: string[], module: string): string | null {
  return keys.find((k) => new RegExp(`^(.*\\.)?(${k})$`).test(module)) ?? null;
}

/** [in, out] of each module of a model (embedding: [V, D]), or null when the model has no such module. */
function moduleShape(module: string, d: Mamba2Dims): [number, number] | null {
  if (module === "backbone.embeddings") return [d.vocab, d.hidden];
  if (module === "lm_head") return [d.hidden, d.vocab];
  const m = /^backbone\.layers\.(\d+)\.mixer\.(in|out)_proj$/.exec(module);
  if (!m || Number(m[1]) >= d.layers) return null;
  return m[2] === "in" ? [d.hidden, d.inProj] : [d.inner, d.hidden];
}

/** Checks that every module of the adapter exists in the model with its shape. */
export function checkLora(adapter: LoraAdapter, config: Mamba2Config): void {
  const d = dimsOf(config);
  for (const m of adapter.modules.values()) {
    const shape = moduleShape(m.module, d);
    if (!shape) fail(`${adapter.name}: ${m.module} is not a module of the model (${d.layers} layers)`);
    if (shape[0] !== m.inFeatures || shape[1] !== m.outFeatures) {
      fail(`${adapter.name}: ${m.module} is adapted as [in ${m.inFeatures}, out ${m.outFeatures}] but the model's is [in ${shape[0]}, out ${shape[1]}] (an adapter of another base model?)`);
    }
  }
}

/** Uploads an adapter for run-time use: A (embedding: Aᵀ) and scaling·B as f32 tensors. */
export function uploadLora<T extends Tensor>(backend: Backend<T>, adapter: LoraAdapter, config: Mamba2Config): LoraWeights<T> {
  checkLora(adapter, config);
  const f32 = (shape: number[], values: Float32Array) => backend.weight(shape, "f32", new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  const pair = (module: string): LoraPair<T> | null => {
    const m = adapter.modules.get(module);
    if (!m) return null;
    const r = m.rank;
    const A = m.kind === "embedding" ? f32([m.inFeatures, r], transpose(m.A, r, m.inFeatures)) : f32([r, m.inFeatures], m.A);
    return { rank: r, A, B: f32([m.outFeatures, r], m.B.map((v) => v * m.scaling)) };
  };
  const layers = Array.from({ length: config.num_hidden_layers }, (_, i) => `backbone.layers.${i}.mixer.`);
  return {
    embeddings: pair("backbone.embeddings"),
    inProj: layers.map((p) => pair(`${p}in_proj`)),
    outProj: layers.map((p) => pair(`${p}out_proj`)),
    lmHead: pair("lm_head"),
  };
}

/** Frees an uploaded adapter's tensors. */
export function freeLora<T extends Tensor>(backend: Backend<T>, w: LoraWeights<T>): void {
  for (const p of [w.embeddings, ...w.inProj, ...w.outProj, w.lmHead]) if (p) (backend.free(p.A), backend.free(p.B));
}

/** x [rows, cols] → [cols, rows]. */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

/** W + scaling·ΔW in float32, ΔW = B·A ([out, in]) for a linear layer, (B·A)ᵀ ([V, D]) for the embedding. */
function mergedValues(w: Float32Array, m: LoraModule): Float32Array {
  const out = w.slice();
  const [rows, cols] = m.kind === "linear" ? [m.outFeatures, m.inFeatures] : [m.inFeatures, m.outFeatures];
  const r = m.rank;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      // linear: Σ_k B[i, k]·A[k, j]; embedding (row v = i, column d = j): Σ_k B[j, k]·A[k, i]
      if (m.kind === "linear") for (let k = 0; k < r; k++) s += m.B[i * r + k] * m.A[k * cols + j];
      else for (let k = 0; k < r; k++) s += m.B[j * r + k] * m.A[k * rows + i];
      out[i * cols + j] += m.scaling * s;
    }
  }
  return out;
}

/**
 * The weights with the adapter merged in (W + scaling·B·A, written in W's dtype; read lazily, tensor by
 * tensor). A tied head whose embedding or head is adapted is untied (lm_head.weight added), so that the
 * merged model computes what the adapter does at run time.
 */
export function mergeLora(config: Mamba2Config, store: TensorStore, adapter: LoraAdapter): { config: Mamba2Config; store: TensorStore } {
  checkLora(adapter, config);
  const untie = config.tie_word_embeddings && (adapter.modules.has("backbone.embeddings") || adapter.modules.has("lm_head"));
  const tensors = new Map(store.tensors);
  if (untie) tensors.set("lm_head.weight", store.tensors.get("backbone.embeddings.weight")!);
  const baseName = (name: string) => (untie && name === "lm_head.weight" ? "backbone.embeddings.weight" : name);
  return {
    config: untie ? parseConfig({ ...config, tie_word_embeddings: false }, adapter.name) : config,
    store: {
      name: `${store.name} + ${adapter.name}`,
      tensors,
      async bytes(name) {
        const bytes = await store.bytes(baseName(name));
        const m = adapter.modules.get(name.replace(/\.weight$/, ""));
        if (!m) return bytes;
        const dtype = weightDType(tensors.get(name)!.dtype, `${store.name}: tensor ${name}`);
        return fromFloat32(mergedValues(toFloat32(bytes, dtype), m), dtype);
      },
    },
  };
}
