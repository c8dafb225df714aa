/**
 * The model formats users have, detected from a folder's files and turned into one config + tensor store with
 * transformers' names:
 * - transformers: config.json (model_type mamba2) + model.safetensors or model.safetensors.index.json + shards;
 * - mamba_ssm (state-spaces): config.json with d_model, n_layer, ssm_cfg, pad_vocab_size_multiple; key
 *   backbone.embedding.weight; safetensors as transformers'; the gated norm per group;
 * - Mistral (Mamba-Codestral): params.json + consolidated.safetensors, mamba_ssm's keys; grouped norm;
 * - GGUF (llama.cpp, arch mamba2): a single .gguf file; its metadata gives the config; grouped norm.
 */
import type { ByteSource } from "./bytes.js";
import { parseConfig, type Mamba2Config } from "./config.js";
import { toFloat32, weightDType } from "./dtype.js";
import { fail } from "./errors.js";
import type { ModelFolder } from "./folder.js";
import { readGguf, type GgufFile, type GgufValue } from "./gguf.js";
import { parseJson } from "./json.js";
import { buildModel, openSafetensors, type LoadOptions } from "./load.js";
import type { Mamba2Model } from "./model.js";
import { isMatrixWeight } from "./quant.js";
import type { Tensor } from "./backend.js";
import type { TensorEntry } from "./safetensors.js";
import type { TensorStore } from "./weights.js";

export type ModelFormat = "transformers" | "mamba_ssm" | "mistral" | "gguf";

/** A tokenizer given by the model file itself (GGUF): tokenizer.json and tokenizer_config.json objects. */
export interface EmbeddedTokenizer {
  readonly json: Record<string, unknown>;
  readonly config: Record<string, unknown>;
}

export interface OpenedModel {
  readonly format: ModelFormat;
  readonly config: Mamba2Config;
  /** Tensors under transformers' names and layout. */
  readonly store: TensorStore;
  /** Whether the format's gated norm is per group (mamba_ssm, Mistral, GGUF) or whole-width (transformers). */
  readonly groupedGatedNorm: boolean;
  /** The GGUF's own tokenizer where it has a supported one; null otherwise. */
  readonly tokenizer: EmbeddedTokenizer | null;
}

/** Detects the format of a folder's files and opens its config and tensors (nothing uploaded yet). */
export async function openModelFolder(folder: ModelFolder): Promise<OpenedModel> {
  const at = (file: string) => `${folder.name.replace(/\/$/, "")}/${file}`;
  if (await folder.has("config.json")) {
    const raw = parseJson(await folder.text("config.json"), at("config.json"));
    if (isObject(raw) && "d_model" in raw && !("hidden_size" in raw)) {
      const config = parseConfig(ssmConfigToHf(raw, at("config.json")), at("config.json"));
      return { format: "mamba_ssm", config, store: renameSsmKeys(await openSafetensorsFolder(folder, "model")), groupedGatedNorm: true, tokenizer: null };
    }
    return { format: "transformers", config: parseConfig(raw as object, at("config.json")), store: await openSafetensorsFolder(folder, "model"), groupedGatedNorm: false, tokenizer: null };
  }
  if (await folder.has("params.json")) {
    const raw = parseJson(await folder.text("params.json"), at("params.json"));
    const config = parseConfig(ssmConfigToHf(mistralToSsm(raw, at("params.json")), at("params.json")), at("params.json"));
    return { format: "mistral", config, store: renameSsmKeys(await openSafetensorsFolder(folder, "consolidated")), groupedGatedNorm: true, tokenizer: null };
  }
  const ggufs = ((await folder.list()) ?? []).filter((f) => f.endsWith(".gguf"));
  if (ggufs.length > 1) fail(`${folder.name}: holds ${ggufs.length} .gguf files (${ggufs.join(", ")}): name the one to load`);
  if (ggufs.length === 1) return openGgufModel(await folder.source(ggufs[0]));
  return fail(`${folder.name}: not a model folder (no config.json, params.json or .gguf file)`);
}

/** Loads a model from a folder of any supported format; `groupedGatedNorm` defaults to the format's. */
export async function loadModelFromFolder<T extends Tensor = Tensor>(folder: ModelFolder, options: LoadOptions<T> = {}): Promise<Mamba2Model<T>> {
  return loadOpened(await openModelFolder(folder), options);
}

export function loadOpened<T extends Tensor = Tensor>(opened: OpenedModel, options: LoadOptions<T> = {}): Promise<Mamba2Model<T>> {
  return buildModel(opened.config, opened.store, { ...options, groupedGatedNorm: options.groupedGatedNorm ?? opened.groupedGatedNorm });
}

/** `{prefix}.safetensors`, or `{prefix}.safetensors.index.json` and the shards its weight_map names. */
async function openSafetensorsFolder(folder: ModelFolder, prefix: string): Promise<TensorStore> {
  const single = `${prefix}.safetensors`;
  const index = `${prefix}.safetensors.index.json`;
  if (await folder.has(single)) return openSafetensors([await folder.source(single)]);
  if (!(await folder.has(index))) {
    if (await folder.has("pytorch_model.bin")) fail(`${folder.name}: pytorch_model.bin is a pickle, which is not read here: convert it to ${single} (same tensor names)`);
    fail(`${folder.name}: no ${single} nor ${index}`);
  }
  const where = `${folder.name}/${index}`;
  const parsed = parseJson(await folder.text(index), where) as { weight_map?: Record<string, string> };
  if (!isObject(parsed) || !isObject(parsed.weight_map)) fail(`${where}: no weight_map`);
  const shards = [...new Set(Object.values(parsed.weight_map))];
  return openSafetensors(await Promise.all(shards.map((s) => folder.source(s))));
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * mamba_ssm's MambaConfig → transformers' config fields. Module defaults of Mamba2: d_state 128, d_conv 4,
 * expand 2, headdim 64, ngroups 1, chunk_size 256, no in/out bias, conv bias, dt_limit (0, inf); the vocab is
 * padded to a multiple of pad_vocab_size_multiple (default 8). Layers other than pure Mamba2 are refused.
 */
function ssmConfigToHf(raw: unknown, source: string): Record<string, unknown> {
  if (!isObject(raw)) fail(`${source}: expected a JSON object`);
  const ssm = raw.ssm_cfg ?? {};
  if (!isObject(ssm)) fail(`${source}: ssm_cfg must be an object, found ${JSON.stringify(ssm)}`);
  const refuse = (what: string, found: unknown) => fail(`${source}: ${what}, found ${JSON.stringify(found)} (only pure Mamba2 stacks are supported)`);
  if (ssm.layer !== undefined && ssm.layer !== "Mamba2") refuse(`ssm_cfg.layer must be "Mamba2"`, ssm.layer);
  if ((raw.d_intermediate ?? 0) !== 0) refuse("d_intermediate (MLP layers) must be 0", raw.d_intermediate);
  if (Array.isArray(raw.attn_layer_idx) && raw.attn_layer_idx.length > 0) refuse("attn_layer_idx (attention layers) must be empty", raw.attn_layer_idx);
  if (raw.rms_norm === false) refuse("rms_norm must be true", raw.rms_norm);
  if (ssm.rmsnorm === false) refuse("ssm_cfg.rmsnorm must be true", ssm.rmsnorm);
  if (ssm.norm_before_gate === true) refuse("ssm_cfg.norm_before_gate must be false", ssm.norm_before_gate);
  if (ssm.D_has_hdim === true) refuse("ssm_cfg.D_has_hdim must be false", ssm.D_has_hdim);
  for (const k of ["d_model", "n_layer", "vocab_size"]) if (!Number.isInteger(raw[k]) || (raw[k] as number) <= 0) fail(`${source}: ${k} must be a positive integer, found ${JSON.stringify(raw[k])}`);
  const pad = raw.pad_vocab_size_multiple ?? 8;
  if (!Number.isInteger(pad) || (pad as number) <= 0) fail(`${source}: pad_vocab_size_multiple must be a positive integer, found ${JSON.stringify(pad)}`);
  const d = raw.d_model as number;
  const expand = ssm.expand ?? 2;
  const headDim = ssm.headdim ?? 64;
  const inner = (expand as number) * d;
  if (typeof headDim !== "number" || inner % headDim !== 0) fail(`${source}: expand × d_model (${inner}) must be a multiple of ssm_cfg.headdim (${JSON.stringify(headDim)})`);
  return {
    model_type: "mamba2",
    hidden_size: d,
    num_hidden_layers: raw.n_layer,
    vocab_size: Math.ceil((raw.vocab_size as number) / (pad as number)) * (pad as number),
    state_size: ssm.d_state ?? 128,
    conv_kernel: ssm.d_conv ?? 4,
    expand,
    head_dim: headDim,
    num_heads: inner / headDim,
    n_groups: ssm.ngroups ?? 1,
    chunk_size: ssm.chunk_size ?? 256,
    use_bias: ssm.bias ?? false,
    use_conv_bias: ssm.conv_bias ?? true,
    time_step_limit: ssm.dt_limit ?? [0, Infinity],
    residual_in_fp32: raw.residual_in_fp32 ?? true,
    tie_word_embeddings: raw.tie_embeddings ?? true,
    layer_norm_epsilon: 1e-5,
  };
}

/** Mistral's params.json (mistral_inference's MambaArgs) → a mamba_ssm config. */
function mistralToSsm(raw: unknown, source: string): Record<string, unknown> {
  if (!isObject(raw)) fail(`${source}: expected a JSON object`);
  if (raw.model_type !== "mamba") fail(`${source}: model_type is ${JSON.stringify(raw.model_type)}, expected "mamba"`);
  return {
    d_model: raw.dim,
    n_layer: raw.n_layers,
    vocab_size: raw.vocab_size,
    ssm_cfg: { layer: "Mamba2", ngroups: raw.n_groups ?? 1 },
    rms_norm: raw.rms_norm,
    residual_in_fp32: raw.residual_in_fp32,
    pad_vocab_size_multiple: raw.pad_vocab_size_multiple ?? 1,
    tie_embeddings: raw.tie_embeddings ?? false,
  };
}

/** A store seen under other names (`rename(original) → new`; null leaves the tensor out). */
export function renamed(store: TensorStore, rename: (name: string) => string | null): TensorStore {
  const original = new Map([...store.tensors.keys()].flatMap((n) => {
    const to = rename(n);
    return to === null ? [] : [[to, n] as const];
  }));
  return {
    name: store.name,
    tensors: new Map([...original].map(([n, o]) => [n, store.tensors.get(o)!])),
    bytes: (name) => store.bytes(original.get(name) ?? name),
  };
}

const renameSsmKeys = (store: TensorStore) => renamed(store, (n) => (n === "backbone.embedding.weight" ? "backbone.embeddings.weight" : n));

/** Opens a .gguf file of arch mamba2 as a model: config from its metadata, tensors renamed to transformers'. */
export async function openGgufModel(source: ByteSource): Promise<OpenedModel> {
  const gguf = await readGguf(source);
  const config = ggufConfig(gguf);
  return { format: "gguf", config, store: ggufStore(gguf), groupedGatedNorm: true, tokenizer: ggufTokenizer(gguf) };
}

function ggufConfig(g: GgufFile): Mamba2Config {
  const file = g.source.name;
  const arch = g.metadata.get("general.architecture");
  if (arch !== "mamba2") fail(`${file}: general.architecture is ${JSON.stringify(arch)}, expected "mamba2"`);
  const num = (key: string, fallback?: number): number => {
    const v = g.metadata.get(key);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "number" && typeof v !== "bigint") fail(`${file}: metadata ${key} ${v === undefined ? "is missing" : `must be a number, found ${JSON.stringify(String(v))}`}`);
    return Number(v);
  };
  const id = (key: string) => (g.metadata.has(key) ? num(key) : null);
  const embd = g.tensors.get("token_embd.weight");
  if (!embd) fail(`${file}: no tensor token_embd.weight`);
  const hidden = num("mamba2.embedding_length");
  const inner = num("mamba2.ssm.inner_size");
  const heads = num("mamba2.ssm.time_step_rank");
  if (inner % hidden !== 0) fail(`${file}: mamba2.ssm.inner_size (${inner}) must be a multiple of mamba2.embedding_length (${hidden})`);
  if (inner % heads !== 0) fail(`${file}: mamba2.ssm.inner_size (${inner}) must be a multiple of mamba2.ssm.time_step_rank (${heads} heads)`);
  return parseConfig({
    model_type: "mamba2",
    hidden_size: hidden,
    num_hidden_layers: num("mamba2.block_count"),
    vocab_size: embd.shape[0],
    state_size: num("mamba2.ssm.state_size"),
    conv_kernel: num("mamba2.ssm.conv_kernel"),
    expand: inner / hidden,
    num_heads: heads,
    head_dim: inner / heads,
    n_groups: num("mamba2.ssm.group_count", 1),
    layer_norm_epsilon: num("mamba2.attention.layer_norm_rms_epsilon", 1e-5),
    use_conv_bias: g.tensors.has("blk.0.ssm_conv1d.bias"),
    use_bias: g.tensors.has("blk.0.ssm_in.bias"),
    tie_word_embeddings: !g.tensors.has("output.weight"),
    bos_token_id: id("tokenizer.ggml.bos_token_id"),
    eos_token_id: id("tokenizer.ggml.eos_token_id"),
    pad_token_id: id("tokenizer.ggml.padding_token_id"),
  }, file);
}

/** GGUF tensor names → transformers' (per layer: the part after "blk.{i}."). */
export const GGUF_NAMES: Readonly<Record<string, string>> = {
  "token_embd.weight": "backbone.embeddings.weight",
  "output_norm.weight": "backbone.norm_f.weight",
  "output.weight": "lm_head.weight",
};
export const GGUF_LAYER_NAMES: Readonly<Record<string, string>> = {
  "attn_norm.weight": "norm.weight",
  "ssm_in.weight": "mixer.in_proj.weight",
  "ssm_in.bias": "mixer.in_proj.bias",
  "ssm_conv1d.weight": "mixer.conv1d.weight",
  "ssm_conv1d.bias": "mixer.conv1d.bias",
  "ssm_dt.bias": "mixer.dt_bias",
  "ssm_a": "mixer.A_log",
  "ssm_d": "mixer.D",
  "ssm_norm.weight": "mixer.norm.weight",
  "ssm_out.weight": "mixer.out_proj.weight",
  "ssm_out.bias": "mixer.out_proj.bias",
};

function hfName(ggufName: string): string | undefined {
  const m = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  if (!m) return GGUF_NAMES[ggufName];
  const rest = GGUF_LAYER_NAMES[m[2]];
  return rest && `backbone.layers.${m[1]}.${rest}`;
}

/**
 * The GGUF's tensors as transformers' tensors: shapes as transformers has them (conv weight [C, 1, K], the norm
 * flat [E], A_log, D and dt_bias [H]); A_log = log(−A) from the stored A; a quantized tensor that is not a
 * matmul/embedding matrix is dequantized when read. Unknown names keep their GGUF name (and fail the check).
 */
function ggufStore(g: GgufFile): TensorStore {
  const tensors = new Map<string, TensorEntry>();
  const from = new Map<string, string>();
  for (const t of g.tensors.values()) {
    const name = hfName(t.name) ?? t.name;
    const n = t.shape.reduce((a, b) => a * b, 1);
    let shape = [...t.shape];
    if (name.endsWith("conv1d.weight")) shape = [t.shape[0], 1, t.shape[1]];
    else if (/(A_log|\.D|dt_bias|mixer\.norm\.weight)$/.test(name)) shape = [n];
    const dtype = name.endsWith("A_log") || (!isMatrixWeight(name) && /^Q/.test(t.type)) ? "F32" : t.type;
    tensors.set(name, { dtype, shape, begin: t.begin, end: t.end });
    from.set(name, t.name);
  }
  return {
    name: g.source.name,
    tensors,
    async bytes(name) {
      const t = g.tensors.get(from.get(name) ?? name);
      if (!t) fail(`${g.source.name}: no tensor named ${name}`);
      const raw = await g.source.read(t.begin, t.end - t.begin);
      const entry = tensors.get(name)!;
      if (entry.dtype === t.type && !name.endsWith("A_log")) return raw;
      const values = toFloat32(raw, weightDType(t.type, `${g.source.name}: tensor ${t.name}`));
      if (name.endsWith("A_log")) {
        const bad = values.findIndex((a) => !(a < 0));
        if (bad >= 0) fail(`${g.source.name}: tensor ${t.name} holds ${values[bad]} at ${bad}; A must be negative`);
        values.forEach((a, i) => (values[i] = Math.log(-a)));
      }
      return new Uint8Array(values.buffer);
    },
  };
}

/**
 * A GGUF's `gpt2` (byte-level BPE) vocabulary as tokenizer.json + tokenizer_config.json objects, for the GPT-2
 * pre-tokenizer (`tokenizer.ggml.pre` "gpt-2" or "default"); null for other tokenizers.
 */
function ggufTokenizer(g: GgufFile): EmbeddedTokenizer | null {
  const m = g.metadata;
  const pre = m.get("tokenizer.ggml.pre") ?? "default";
  const tokens = m.get("tokenizer.ggml.tokens");
  const merges = m.get("tokenizer.ggml.merges");
  if (m.get("tokenizer.ggml.model") !== "gpt2" || (pre !== "gpt-2" && pre !== "default") || !Array.isArray(tokens) || !Array.isArray(merges)) return null;
  const types = (m.get("tokenizer.ggml.token_type") ?? []) as GgufValue[];
  const vocab = Object.fromEntries(tokens.map((t, i) => [String(t), i]));
  const added = tokens.flatMap((t, i) => (types[i] === 3 || types[i] === 4 ? [{ id: i, content: String(t), single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[i] === 3 }] : []));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  const special = (key: string) => {
    const i = m.get(key);
    return typeof i === "number" && i < tokens.length ? String(tokens[i]) : null;
  };
  return {
    json: {
      version: "1.0",
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: null,
      decoder: { ...byteLevel, add_prefix_space: true },
      model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(String) },
    },
    config: { bos_token: special("tokenizer.ggml.bos_token_id"), eos_token: special("tokenizer.ggml.eos_token_id"), pad_token: special("tokenizer.ggml.padding_token_id") },
  };
}
