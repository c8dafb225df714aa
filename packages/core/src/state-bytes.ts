/**
 * A Mamba2State as bytes, to store or send. Layout (little-endian):
 *   [0, 8)       magic "MAMBA2ST"
 *   [8, 12)      format version, u32 (1)
 *   [12, 16)     n: bytes of the header, u32 (a multiple of 4)
 *   [16, 16 + n) JSON header, padded with spaces: {model: {fingerprint, num_hidden_layers, hidden_size, num_heads,
 *                head_dim, state_size, n_groups, conv_kernel, vocab_size}, dtype: "f32", batch, seq_len,
 *                conv: [B, convDim, K], ssm: [B, H, P, N], logits: [B, V] | null, pending: B ids | null,
 *                rng: B uint32, history: B × {seen: ids, generated: [id, count][]}}
 *   then float32 data: for each layer its conv then its ssm state, then the logits if any; nothing after.
 * The size does not depend on the context length (the history is bounded by the vocabulary).
 */
import type { Tensor } from "./backend.js";
import type { Mamba2Dims } from "./config.js";
import { fail } from "./errors.js";
import { parseJson } from "./json.js";
import type { Mamba2Model } from "./model.js";
import { Rng, TokenHistory } from "./sampling.js";
import { Mamba2State } from "./state.js";

const MAGIC = "MAMBA2ST";
export const STATE_FORMAT_VERSION = 1;

/** The dims a state depends on, by their config.json names. */
const FIELDS: readonly (readonly [keyof Mamba2Dims, string])[] = [
  ["layers", "num_hidden_layers"], ["hidden", "hidden_size"], ["heads", "num_heads"], ["headDim", "head_dim"],
  ["stateSize", "state_size"], ["groups", "n_groups"], ["convKernel", "conv_kernel"], ["vocab", "vocab_size"],
];

interface Header {
  model: Record<string, unknown>;
  dtype: string;
  batch: number;
  seq_len: number;
  conv: number[];
  ssm: number[];
  logits: number[] | null;
  pending: number[] | null;
  rng: number[];
  history: { seen: number[]; generated: [number, number][] }[];
}

const fingerprints = new WeakMap<object, Promise<string>>();

/**
 * 16 hex digits identifying the model's weights: a hash of its 1-D weights (norms, dt_bias, A, D, conv bias),
 * which every backend keeps as float32 and which are cheap to read back. Computed once per model.
 */
export function modelFingerprint<T extends Tensor>(model: Mamba2Model<T>): Promise<string> {
  let f = fingerprints.get(model);
  if (!f) {
    f = hashVectors(model);
    fingerprints.set(model, f);
  }
  return f;
}

async function hashVectors<T extends Tensor>(model: Mamba2Model<T>): Promise<string> {
  const w = model.weights;
  const vectors = [w.normF, ...w.layers.flatMap((l) => [l.norm, l.dtBias, l.A, l.D, l.gatedNorm, ...(l.convBias ? [l.convBias] : [])])];
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (const t of vectors) {
    const f = await model.backend.readF32(t);
    for (const word of new Uint32Array(f.buffer, f.byteOffset, f.length)) {
      h1 = Math.imul(h1 ^ word, 2654435761);
      h2 = Math.imul(h2 ^ word, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h2, h1].map((h) => (h >>> 0).toString(16).padStart(8, "0")).join("");
}

/** The state as bytes (reads the cache back from the device). */
export async function serializeState<T extends Tensor>(state: Mamba2State<T>): Promise<Uint8Array> {
  const { model, cache, batch } = state;
  const d = model.dims;
  const header: Header = {
    model: { fingerprint: await modelFingerprint(model), ...Object.fromEntries(FIELDS.map(([k, name]) => [name, d[k]])) },
    dtype: "f32",
    batch,
    seq_len: state.seqLen,
    conv: [batch, d.convDim, d.convKernel],
    ssm: [batch, d.heads, d.headDim, d.stateSize],
    logits: state.logits ? [batch, d.vocab] : null,
    pending: state.pending ? Array.from(state.pending) : null,
    rng: state.rngs.map((r) => r.state),
    history: state.histories.map((h) => ({ seen: [...h.seen], generated: [...h.generated] })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 4) * 4;
  const floats: Float32Array[] = [];
  for (let l = 0; l < d.layers; l++) floats.push(await model.backend.readF32(cache.conv[l]), await model.backend.readF32(cache.ssm[l]));
  if (state.logits) floats.push(state.logits);
  const out = new Uint8Array(16 + n + floats.reduce((a, f) => a + f.byteLength, 0));
  out.set(new TextEncoder().encode(MAGIC));
  const view = new DataView(out.buffer);
  view.setUint32(8, STATE_FORMAT_VERSION, true);
  view.setUint32(12, n, true);
  out.set(json, 16);
  out.fill(0x20, 16 + json.length, 16 + n);
  let offset = 16 + n;
  for (const f of floats) {
    out.set(new Uint8Array(f.buffer, f.byteOffset, f.byteLength), offset);
    offset += f.byteLength;
  }
  return out;
}

/**
 * Bytes of `serializeState` → a state on this model's backend. Bad magic, another version, truncation or a state
 * of another model (other shapes or other weights) fail with one line naming what differs; `source` names the
 * bytes (a file name) in the message.
 */
export async function deserializeState<T extends Tensor>(model: Mamba2Model<T>, bytes: Uint8Array, source = "state"): Promise<Mamba2State<T>> {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail(`${source}: not a Mamba2 state (no ${MAGIC} magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== STATE_FORMAT_VERSION) fail(`${source}: state format version ${version} is not supported (this runtime reads version ${STATE_FORMAT_VERSION})`);
  const n = view.getUint32(12, true);
  if (16 + n > bytes.length) fail(`${source}: truncated: the header needs ${16 + n} bytes, there are ${bytes.length}`);
  const h = parseJson(new TextDecoder().decode(bytes.subarray(16, 16 + n)), `${source}: header`) as Header;
  if (h === null || typeof h !== "object" || h.model === null || typeof h.model !== "object") fail(`${source}: header is not a state header`);
  if (h.dtype !== "f32") fail(`${source}: dtype ${JSON.stringify(h.dtype)} is not supported (f32)`);
  await checkModel(model, h.model, source);

  const d = model.dims;
  const B = h.batch;
  if (!Number.isInteger(B) || B < 1) fail(`${source}: batch must be a positive integer, found ${B}`);
  if (!Number.isInteger(h.seq_len) || h.seq_len < 0) fail(`${source}: seq_len must be an integer >= 0, found ${h.seq_len}`);
  checkShape(source, "conv", h.conv, [B, d.convDim, d.convKernel]);
  checkShape(source, "ssm", h.ssm, [B, d.heads, d.headDim, d.stateSize]);
  if (h.logits !== null) checkShape(source, "logits", h.logits, [B, d.vocab]);
  const convSize = B * d.convDim * d.convKernel;
  const ssmSize = B * d.heads * d.headDim * d.stateSize;
  const expected = 16 + n + 4 * (d.layers * (convSize + ssmSize) + (h.logits ? B * d.vocab : 0));
  if (bytes.length < expected) fail(`${source}: truncated: ${bytes.length} bytes, the state needs ${expected}`);
  if (bytes.length > expected) fail(`${source}: ${bytes.length - expected} unexpected bytes after the state's ${expected}`);
  const pending = h.pending === null ? null : Int32Array.from(ids(source, "pending", h.pending, d.vocab, B));
  if (!Array.isArray(h.rng) || h.rng.length !== B || !h.rng.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32)) fail(`${source}: rng must hold ${B} uint32 states`);
  if (!Array.isArray(h.history) || h.history.length !== B) fail(`${source}: history must hold ${B} rows`);
  const histories = h.history.map((r, b) => {
    const what = `history row ${b}`;
    const pairs = r?.generated;
    if (!Array.isArray(pairs) || !pairs.every((e) => Array.isArray(e) && e.length === 2 && Number.isInteger(e[1]) && e[1] > 0)) {
      fail(`${source}: ${what}: generated must be a list of [id, count] pairs`);
    }
    ids(source, what, pairs.map((e) => e[0]), d.vocab);
    return new TokenHistory(new Set(ids(source, what, r.seen, d.vocab)), new Map(pairs));
  });

  let offset = 16 + n;
  const floats = (count: number) => {
    const f = new Float32Array(count); // copied: `bytes` may be unaligned (or a Node Buffer, whose slice is a view)
    new Uint8Array(f.buffer).set(bytes.subarray(offset, offset + 4 * count));
    offset += 4 * count;
    return f;
  };
  const cache = model.createCache(B);
  for (let l = 0; l < d.layers; l++) {
    model.backend.write(cache.conv[l], floats(convSize));
    model.backend.write(cache.ssm[l], floats(ssmSize));
  }
  cache.seqLen = h.seq_len;
  const logits = h.logits ? floats(B * d.vocab) : null;
  return new Mamba2State(model, cache, pending, logits, h.rng.map((s) => new Rng(s)), histories);
}

async function checkModel<T extends Tensor>(model: Mamba2Model<T>, saved: Record<string, unknown>, source: string): Promise<void> {
  for (const [key, name] of FIELDS) {
    if (saved[name] !== model.dims[key]) fail(`${source}: saved from a model with ${name} ${saved[name]}, this model has ${name} ${model.dims[key]}`);
  }
  const ours = await modelFingerprint(model);
  if (saved.fingerprint !== ours) fail(`${source}: saved from another model with the same shapes but other weights (fingerprint ${saved.fingerprint}, this model ${ours})`);
}

function checkShape(source: string, what: string, shape: unknown, expected: number[]): void {
  if (!Array.isArray(shape) || shape.length !== expected.length || shape.some((v, i) => v !== expected[i])) {
    fail(`${source}: ${what} shape ${JSON.stringify(shape)} does not match this model's [${expected.join(", ")}]`);
  }
}

function ids(source: string, what: string, value: unknown, vocab: number, length?: number): number[] {
  const ok = Array.isArray(value) && (length === undefined || value.length === length) && value.every((id) => Number.isInteger(id) && id >= 0 && id < vocab);
  if (!ok) fail(`${source}: ${what} must be ${length ?? "a list of"} token ids in [0, ${vocab})`);
  return value as number[];
}
