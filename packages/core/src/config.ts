import { fail } from "./errors.js";
import { parseJson } from "./json.js";

/** Activations the causal conv may use (transformers' `hidden_act`). */
export const ACTIVATIONS = ["silu", "swish", "relu", "identity"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** transformers' `Mamba2Config`, field for field, with its defaults. */
export interface Mamba2Config {
  readonly model_type: "mamba2";
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly state_size: number;
  readonly num_hidden_layers: number;
  readonly layer_norm_epsilon: number;
  readonly pad_token_id: number | null;
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | readonly number[] | null;
  readonly expand: number;
  readonly conv_kernel: number;
  readonly n_groups: number;
  readonly use_bias: boolean;
  readonly use_conv_bias: boolean;
  readonly hidden_act: Activation;
  readonly initializer_range: number;
  readonly residual_in_fp32: boolean;
  readonly time_step_rank: number;
  readonly time_step_min: number;
  readonly time_step_max: number;
  readonly time_step_floor: number;
  readonly time_step_limit: readonly [number, number];
  readonly rescale_prenorm_residual: boolean;
  readonly use_cache: boolean;
  readonly rms_norm: boolean;
  readonly chunk_size: number;
  readonly tie_word_embeddings: boolean;
  readonly num_heads: number;
  readonly head_dim: number;
}

const DEFAULTS: Omit<Mamba2Config, "time_step_rank"> & { time_step_rank: number | "auto" } = {
  model_type: "mamba2",
  vocab_size: 32768,
  hidden_size: 4096,
  state_size: 128,
  num_hidden_layers: 64,
  layer_norm_epsilon: 1e-5,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
  expand: 2,
  conv_kernel: 4,
  n_groups: 8,
  use_bias: false,
  use_conv_bias: true,
  hidden_act: "silu",
  initializer_range: 0.1,
  residual_in_fp32: true,
  time_step_rank: "auto",
  time_step_min: 0.001,
  time_step_max: 0.1,
  time_step_floor: 1e-4,
  time_step_limit: [0, Infinity],
  rescale_prenorm_residual: false,
  use_cache: true,
  rms_norm: true,
  chunk_size: 256,
  tie_word_embeddings: false,
  num_heads: 128,
  head_dim: 64,
};

const POSITIVE_INTS = [
  "vocab_size", "hidden_size", "state_size", "num_hidden_layers", "expand", "conv_kernel",
  "n_groups", "chunk_size", "num_heads", "head_dim",
] as const;
const BOOLEANS = [
  "use_bias", "use_conv_bias", "residual_in_fp32", "rescale_prenorm_residual", "use_cache", "rms_norm",
  "tie_word_embeddings",
] as const;
const NUMBERS = ["initializer_range", "time_step_min", "time_step_max", "time_step_floor"] as const;

/**
 * A `config.json` (text or parsed object) → a validated, frozen config with transformers' defaults.
 * `source` names the file in error messages.
 */
export function parseConfig(json: string | object, source = "config.json"): Mamba2Config {
  const raw = typeof json === "string" ? parseJson(json, source) : json;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(`${source}: expected a JSON object`);
  const given = raw as Record<string, unknown>;
  if (given.model_type !== undefined && given.model_type !== "mamba2") {
    fail(`${source}: model_type is ${JSON.stringify(given.model_type)}, expected "mamba2"`);
  }
  const c: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) if (given[key] !== undefined) c[key] = given[key];
  const bad = (field: string, expected: string): never =>
    fail(`${source}: ${field} must be ${expected}, found ${JSON.stringify(c[field])}`);

  for (const k of POSITIVE_INTS) if (!Number.isInteger(c[k]) || (c[k] as number) <= 0) bad(k, "a positive integer");
  for (const k of BOOLEANS) if (typeof c[k] !== "boolean") bad(k, "true or false");
  for (const k of NUMBERS) if (typeof c[k] !== "number") bad(k, "a number");
  const eps = c.layer_norm_epsilon;
  if (typeof eps !== "number" || !(eps > 0) || !Number.isFinite(eps)) bad("layer_norm_epsilon", "a positive number");
  for (const k of ["pad_token_id", "bos_token_id"] as const) {
    if (c[k] !== null && !Number.isInteger(c[k])) bad(k, "an integer or null");
  }
  const eos = c.eos_token_id;
  if (eos !== null && !Number.isInteger(eos) && !(Array.isArray(eos) && eos.every(Number.isInteger))) {
    bad("eos_token_id", "an integer, a list of integers or null");
  }
  if (!(ACTIVATIONS as readonly unknown[]).includes(c.hidden_act)) bad("hidden_act", `one of ${ACTIVATIONS.join(", ")}`);
  if (c.time_step_rank === "auto") c.time_step_rank = Math.ceil((c.hidden_size as number) / 16);
  if (!Number.isInteger(c.time_step_rank) || (c.time_step_rank as number) <= 0) bad("time_step_rank", `"auto" or a positive integer`);
  const limit = c.time_step_limit;
  if (!Array.isArray(limit) || limit.length !== 2 || !limit.every((x) => typeof x === "number" && !Number.isNaN(x)) || !(limit[0] <= limit[1])) {
    bad("time_step_limit", "[min, max] numbers with min <= max");
  }

  const d = c.hidden_size as number;
  const heads = c.num_heads as number;
  const headDim = c.head_dim as number;
  const expand = c.expand as number;
  const groups = c.n_groups as number;
  if (heads * headDim !== expand * d) {
    fail(`${source}: num_heads × head_dim (${heads} × ${headDim} = ${heads * headDim}) must equal expand × hidden_size (${expand} × ${d} = ${expand * d})`);
  }
  if (heads % groups !== 0) fail(`${source}: num_heads (${heads}) must be divisible by n_groups (${groups})`);
  if (c.hidden_act === "swish") c.hidden_act = "silu";
  c.time_step_limit = Object.freeze([...(limit as number[])]);
  if (Array.isArray(eos)) c.eos_token_id = Object.freeze([...eos]);
  return Object.freeze(c) as unknown as Mamba2Config;
}

/** Sizes derived from a config, in the notation of docs: D, E, H, P, N, G, K. */
export interface Mamba2Dims {
  readonly vocab: number;
  readonly layers: number;
  readonly hidden: number; // D
  readonly inner: number; // E = expand·D = H·P
  readonly heads: number; // H
  readonly headDim: number; // P
  readonly stateSize: number; // N
  readonly groups: number; // G
  readonly convKernel: number; // K
  readonly convDim: number; // E + 2·G·N
  readonly inProj: number; // E + convDim + H: z | xBC | dt
}

export function dimsOf(c: Mamba2Config): Mamba2Dims {
  const inner = c.num_heads * c.head_dim;
  const convDim = inner + 2 * c.n_groups * c.state_size;
  return Object.freeze({
    vocab: c.vocab_size,
    layers: c.num_hidden_layers,
    hidden: c.hidden_size,
    inner,
    heads: c.num_heads,
    headDim: c.head_dim,
    stateSize: c.state_size,
    groups: c.n_groups,
    convKernel: c.conv_kernel,
    convDim,
    inProj: inner + convDim + c.num_heads,
  });
}

/** The ids that end generation. */
export function eosIds(c: Mamba2Config): number[] {
  const e = c.eos_token_id;
  return e === null ? [] : typeof e === "number" ? [e] : [...e];
}
