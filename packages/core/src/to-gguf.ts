/**
 * A model (any format we read) → a GGUF of arch mamba2 laid out as llama.cpp's converter lays it out (A stored as
 * −exp(A_log), conv weight [C, K], the gated norm [G, E/G] ([E] when G = 1), tied head without output.weight), with the matrices
 * (in_proj, out_proj, embeddings, lm_head) quantized and everything else f32 — what `llama-quantize --pure`
 * makes. A byte-level BPE tokenizer.json goes into the `tokenizer.ggml.*` metadata, so the file stands alone.
 */
import { dimsOf } from "./config.js";
import { toFloat32, weightDType } from "./dtype.js";
import { fail } from "./errors.js";
import { GGUF_LAYER_NAMES, GGUF_NAMES, type OpenedModel } from "./formats.js";
import { writeGguf, type GgufEntry, type GgufTensorData } from "./gguf.js";
import { isMatrixWeight, quantize, QUANT_BLOCKS, type QuantDType } from "./quant.js";

const TO_GGUF = new Map<string, string>(Object.entries(GGUF_NAMES).map(([g, h]) => [h, g]));
const LAYER_TO_GGUF = new Map<string, string>(Object.entries(GGUF_LAYER_NAMES).map(([g, h]) => [h, g]));

function ggufName(name: string): string {
  const m = /^backbone\.layers\.(\d+)\.(.+)$/.exec(name);
  const g = m ? LAYER_TO_GGUF.get(m[2]) && `blk.${m[1]}.${LAYER_TO_GGUF.get(m[2])}` : TO_GGUF.get(name);
  return g ?? fail(`tensor ${name} has no GGUF name`);
}

/** The GGUF file's bytes, as chunks (header first). `tokenizerJson`: the model's parsed tokenizer.json, if any. */
export async function modelToGguf(model: OpenedModel, to: QuantDType, tokenizerJson?: unknown): Promise<Uint8Array[]> {
  const c = model.config;
  const d = dimsOf(c);
  if (c.time_step_limit[0] !== 0 || c.time_step_limit[1] !== Infinity) {
    fail(`${model.store.name}: time_step_limit [${c.time_step_limit.join(", ")}] cannot be stored in GGUF (llama.cpp has no dt limit)`);
  }
  if (!model.groupedGatedNorm && c.n_groups > 1) {
    fail(`${model.store.name}: a transformers model with n_groups ${c.n_groups} normalizes the gated norm over all channels; GGUF's mamba2 normalizes per group`);
  }
  const u32 = (value: number): GgufEntry => ({ type: "u32", value });
  const meta = new Map<string, GgufEntry>([
    ["general.architecture", { type: "string", value: "mamba2" }],
    ["general.quantization_version", u32(2)],
    ["mamba2.context_length", u32(1048576)],
    ["mamba2.embedding_length", u32(d.hidden)],
    ["mamba2.feed_forward_length", u32(0)],
    ["mamba2.attention.head_count", u32(0)],
    ["mamba2.block_count", u32(d.layers)],
    ["mamba2.ssm.conv_kernel", u32(d.convKernel)],
    ["mamba2.ssm.inner_size", u32(d.inner)],
    ["mamba2.ssm.state_size", u32(d.stateSize)],
    ["mamba2.ssm.time_step_rank", u32(d.heads)],
    ["mamba2.ssm.group_count", u32(d.groups)],
    ["mamba2.attention.layer_norm_rms_epsilon", { type: "f32", value: c.layer_norm_epsilon }],
  ]);
  if (tokenizerJson !== undefined) for (const [k, v] of tokenizerMetadata(tokenizerJson, model)) meta.set(k, v);

  const tensors: GgufTensorData[] = [];
  for (const [name, entry] of model.store.tensors) {
    if (name === "lm_head.weight" && c.tie_word_embeddings) continue;
    let values = toFloat32(await model.store.bytes(name), weightDType(entry.dtype, `${model.store.name}: tensor ${name}`));
    let shape = [...entry.shape];
    if (name.endsWith("A_log")) {
      values = values.map((v) => -Math.exp(v));
      shape = [d.heads, 1];
    } else if (name.endsWith("mixer.D")) shape = [d.heads, 1];
    else if (name.endsWith("conv1d.weight")) shape = [d.convDim, d.convKernel];
    else if (name.endsWith("mixer.norm.weight") && d.groups > 1) shape = [d.groups, d.inner / d.groups]; // [E] for one group, as llama.cpp writes it
    const quantized = isMatrixWeight(name);
    const row = shape[shape.length - 1];
    if (quantized && row % QUANT_BLOCKS[to].values !== 0) fail(`${model.store.name}: tensor ${name} has rows of ${row} values, not whole ${to} blocks of ${QUANT_BLOCKS[to].values}`);
    tensors.push({
      name: ggufName(name),
      shape,
      type: quantized ? to.toUpperCase() : "F32",
      data: quantized ? quantize(values, to) : new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
  }
  return writeGguf(meta, tensors);
}

/** A byte-level BPE tokenizer.json as llama.cpp's `gpt2` tokenizer metadata. */
function tokenizerMetadata(json: unknown, model: OpenedModel): Map<string, GgufEntry> {
  const t = json as { model?: { type?: string; vocab?: Record<string, number>; merges?: (string | string[])[] }; pre_tokenizer?: { type?: string }; added_tokens?: { id: number; special?: boolean }[] };
  if (t?.model?.type !== "BPE" || t.pre_tokenizer?.type !== "ByteLevel" || !t.model.vocab || !t.model.merges) {
    fail(`${model.store.name}: only byte-level BPE tokenizers (GPT-2 style) can be written to GGUF`);
  }
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(t.model.vocab)) tokens[id] = token;
  const special = new Set((t.added_tokens ?? []).filter((a) => a.special).map((a) => a.id));
  const types = Array.from(tokens, (_, i) => (special.has(i) ? 3 : 1));
  const meta = new Map<string, GgufEntry>([
    ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
    ["tokenizer.ggml.pre", { type: "string", value: "gpt-2" }],
    ["tokenizer.ggml.tokens", { type: "array", of: "string", value: Array.from(tokens, (s) => s ?? "") }],
    ["tokenizer.ggml.token_type", { type: "array", of: "i32", value: types }],
    ["tokenizer.ggml.merges", { type: "array", of: "string", value: t.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m)) }],
  ]);
  const c = model.config;
  const eos = typeof c.eos_token_id === "number" ? c.eos_token_id : c.eos_token_id?.[0];
  for (const [key, id] of [["bos", c.bos_token_id], ["eos", eos], ["padding", c.pad_token_id]] as const) {
    if (id !== null && id !== undefined) meta.set(`tokenizer.ggml.${key}_token_id`, { type: "u32", value: id });
  }
  meta.set("tokenizer.ggml.add_bos_token", { type: "bool", value: false });
  return meta;
}
