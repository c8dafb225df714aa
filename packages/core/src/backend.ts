import type { Activation } from "./config.js";
import type { DrawOptions } from "./sampling.js";

/**
 * How a backend stores a tensor. Weights may arrive as f16/bf16 or as quantized blocks (q8_0, q4_0, q4_k: the
 * matrices of matmul and embedding only; see quant.ts); activations and cache are f32, ids i32.
 */
export type WeightDType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_k";
export type DType = WeightDType | "i32";

/** A tensor owned by a backend: CPU memory, WebAssembly memory or a GPU buffer. Row-major. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Hyper-parameters of the state-space kernels (`ssdScan`, `ssmStep`). */
export interface SsmParams {
  readonly groups: number; // G: head h uses group floor(h / (H/G))
  readonly stateSize: number; // N
  readonly chunkSize: number; // SSD chunk length (ssdScan only)
  readonly dtMin: number; // dt is clamped to [dtMin, dtMax] after softplus
  readonly dtMax: number;
}

/** Per-layer parameters of the state-space kernels. */
export interface SsmWeights<T extends Tensor> {
  readonly dtBias: T; // [H]
  readonly A: T; // [H], A = -exp(A_log)
  readonly D: T; // [H], skip connection
}

/**
 * Every op a Mamba2 forward pass needs. Destination passing: the first argument is a preallocated output,
 * whose shape says how much to compute. `mask` is an i32 [B, T] tensor of 0/1 (null: every position present);
 * a masked position is absent: it changes no state and its output is unspecified.
 *
 * Layouts: `zxbcdt` is in_proj's output [B·T, E + convDim + H] = z | xBC | dt; `xbc` is the conv output
 * [B·T, convDim] = x (E, as [H, P]) | B (G·N) | C (G·N).
 */
/** The causal conv step of rmsNormMatmulConv: causalConv1d's arguments other than out and x. */
export interface ConvStep<T extends Tensor> {
  readonly offset: number;
  readonly weight: T;
  readonly bias: T | null;
  readonly state: T;
  readonly mask: T | null;
  readonly activation: Activation;
}

export interface Kernels<T extends Tensor = Tensor> {
  /** out[r, :] = table[ids[r], :]. out [R, D], table [V, D], ids i32 [R]. */
  embedding(out: T, table: T, ids: T): void;
  /** out[r, :] = w ⊙ x[r, :] / sqrt(mean(x[r, :]²) + eps). out, x [R, D], weight [D]. */
  rmsNorm(out: T, x: T, weight: T, eps: number): void;
  /** out[r, o] = Σ_i x[r, i]·w[o, i] + bias[o]. out [R, O], x [R, I], w [O, I], bias [O] or null. */
  matmul(out: T, x: T, w: T, bias: T | null): void;
  /** out = a + b, elementwise, same shapes. */
  add(out: T, a: T, b: T): void;
  /**
   * Causal depthwise conv with state, then the activation, over the columns [offset, offset + C) of x.
   * out [B, T, C], x [B, T, S], weight [C, K], bias [C] or null, state [B, C, K] (the last K present inputs,
   * oldest first; read, then updated). out[b, t, c] = act(bias[c] + Σ_k weight[c, k]·window_t[k]), where
   * window_t is the state after pushing x[b, t, offset + c].
   */
  causalConv1d(out: T, x: T, offset: number, weight: T, bias: T | null, state: T, mask: T | null, activation: Activation): void;
  /**
   * Prefill of the selective state space in the chunked SSD form. y [B, T, H, P], xbc [B, T, convDim],
   * zxbcdt [B, T, S] (dt = its last H columns), state [B, H, P, N] (initial state; updated to the final one).
   * dt = clamp(softplus(dt + dtBias)), S_t = exp(dt·A)·S_{t-1} + dt·x_t ⊗ B_t, y_t = S_t·C_t + D·x_t.
   */
  ssdScan(y: T, xbc: T, zxbcdt: T, w: SsmWeights<T>, state: T, mask: T | null, p: SsmParams): void;
  /** One step of the same recurrence (T = 1). Shapes as ssdScan. */
  ssmStep(y: T, xbc: T, zxbcdt: T, w: SsmWeights<T>, state: T, mask: T | null, p: SsmParams): void;
  /**
   * Gated RMSNorm: g = y ⊙ silu(z), normalized over each group of `groupSize` channels (E: HF's whole-width
   * norm). out, y [R, E], z [R, S] (z = its first E columns), weight [E].
   */
  gatedRmsNorm(out: T, y: T, z: T, weight: T, eps: number, groupSize: number): void;
  /** out[r] = the first index of the largest x[r, :]. out i32 [R], x [R, V]. */
  argmax(out: T, x: T): void;
  /**
   * Optional (a GPU's, so that a sampled decode step reads back only ids): out[r] = the token that sampling.ts's
   * drawToken picks from the logits x[r, :] with the draw u[r] in [0, 1), for temperature > 0. out i32 [R],
   * x [R, V], u [R]. Without it, sampling reads the logits back and draws on the host.
   */
  sample?(out: T, x: T, u: T, o: DrawOptions): void;
  /**
   * Optional fusion (fewer dispatches per decode step on a GPU): out = rmsNorm(x, normWeight, eps)·wᵀ + bias, the
   * same as rmsNorm then matmul. out [R, O], x [R, I], normWeight [I], w [O, I].
   */
  rmsNormMatmul?(out: T, x: T, normWeight: T, eps: number, w: T, bias: T | null): void;
  /**
   * Optional fusion for decode (one position per row): rmsNormMatmul into out, then causalConv1d over out's columns
   * [offset, offset + C) into xbc, the conv state updated. out [B, O], x [B, I], xbc [B, 1, C].
   */
  rmsNormMatmulConv?(out: T, xbc: T, x: T, normWeight: T, eps: number, w: T, bias: T | null, conv: ConvStep<T>): void;
  /**
   * Optional fusion: out += gatedRmsNorm(y, z, normWeight, eps, groupSize)·wᵀ + bias, the same as gatedRmsNorm,
   * matmul and add (the residual connection). out [R, O], y [R, E], z [R, S], w [O, E].
   */
  gatedNormMatmulAdd?(out: T, y: T, z: T, normWeight: T, eps: number, groupSize: number, w: T, bias: T | null): void;
}

/** Memory and kernels of one device. The model only talks to this. */
export interface Backend<T extends Tensor = Tensor> {
  readonly name: string;
  readonly kernels: Kernels<T>;
  /**
   * Kernels go to a queue that a device runs while the host goes on (WebGPU): generation then records decode step
   * n + 1 from step n's tokens on the device before it reads them back, and undoes it where step n ended a row.
   */
  readonly queued?: boolean;
  /** The most bytes of tensors it can hold, where there is a hard limit (a wasm32 memory: 4 GiB). */
  readonly maxBytes?: number;
  /** The weight dtypes it reads (default: f32, f16, bf16; the quantized ones only where declared). */
  readonly weightDTypes?: readonly WeightDType[];
  /** A weight from its raw little-endian bytes; the backend keeps the dtype or widens it. */
  weight(shape: readonly number[], dtype: WeightDType, bytes: Uint8Array): T;
  /** A zero-filled tensor for activations, cache or ids. */
  zeros(shape: readonly number[], dtype: "f32" | "i32"): T;
  /**
   * Optional: `count` zero-filled f32 tensors of one shape in one allocation (`items`), and that allocation as one
   * tensor (`whole`): copying `whole` copies them all in one command. Free `whole`, not the items. Mamba2Cache keeps
   * its layers' states so where a backend has it (a queued backend backs the cache up every decode step). Null
   * where they do not fit one allocation.
   */
  stack?(shape: readonly number[], count: number): { readonly whole: T; readonly items: readonly T[] } | null;
  /** Host → device, the whole tensor. */
  write(t: T, data: Float32Array | Int32Array): void;
  readF32(t: T): Promise<Float32Array>;
  readI32(t: T): Promise<Int32Array>;
  /** dst ← src, same shape. */
  copy(dst: T, src: T): void;
  /**
   * Optional (a queued backend, where recording costs the host more than running does): calls `record`, which
   * only records kernels and copies, and keeps the commands it recorded under `key`; a later call with the same
   * key records those commands again without calling `record`. The key names everything the commands depend on
   * (tensors, options); freeing any tensor forgets every key.
   */
  replay?(key: string, record: () => void): void;
  /**
   * Optional (a backend with memory of its own, a GPU's): bytes per second that memory moves, measured now (the
   * decode limit of `mamba2 bench`). Backends without it run on the host's memory.
   */
  memoryBandwidth?(): Promise<number>;
  free(t: T): void;
}

/** The weight dtypes of a backend that declares none. */
export const DEFAULT_WEIGHT_DTYPES: readonly WeightDType[] = ["f32", "f16", "bf16"];

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
