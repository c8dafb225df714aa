import type { WeightDType } from "./backend.js";
import { dimsOf, type Mamba2Config, parseConfig } from "./config.js";
import { fromFloat32 } from "./dtype.js";
import { isMatrixWeight, isQuantized, tensorBytes } from "./quant.js";
import { expectedTensors, type TensorStore } from "./weights.js";
import { Rng } from "./sampling.js";
import type { TensorEntry } from "./safetensors.js";

/** (D, layers, H) of the released mamba2 checkpoints; all N = 128, P = 64, G = 1, vocab 50288, tied head. */
export const MODEL_SHAPES: Record<string, readonly [number, number, number]> = {
  "130m": [768, 24, 24],
  "370m": [1024, 48, 32],
  "780m": [1536, 48, 48],
  "1.3b": [2048, 48, 64],
  "2.7b": [2560, 64, 80],
};

/** The config of a released model's shape (`130m` … `2.7b`). */
export function shapeConfig(shape: string): Mamba2Config {
  const dims = MODEL_SHAPES[shape];
  if (!dims) throw new Error(`unknown shape ${shape} (shapes: ${Object.keys(MODEL_SHAPES).join(", ")})`);
  const [hidden, layers, heads] = dims;
  return parseConfig({
    hidden_size: hidden, num_hidden_layers: layers, num_heads: heads, head_dim: 64, state_size: 128, n_groups: 1,
    vocab_size: 50288, expand: 2, conv_kernel: 4, chunk_size: 256, tie_word_embeddings: true, eos_token_id: 0, pad_token_id: 0,
  }, `shape ${shape}`);
}

/**
 * Deterministic random weights of a config, generated tensor by tensor when read (nothing is held): matrices
 * uniform in ±1/sqrt(fan-in), norms 1, A_log = log(1..H), D = 1, dt_bias giving dt ≈ 0.01–0.1. With a quantized
 * dtype only the matrices are quantized; the rest is f32 (as `llama-quantize --pure` does).
 */
export function syntheticWeights(config: Mamba2Config, dtype: WeightDType, seed = 0): TensorStore {
  const d = dimsOf(config);
  const dtypeOf = (name: string): WeightDType => (isQuantized(dtype) && !isMatrixWeight(name) ? "f32" : dtype);
  const values = (name: string, n: number, shape: readonly number[]): Float32Array => {
    const rng = new Rng(seed + nameHash(name));
    const out = new Float32Array(n);
    if (name.endsWith("A_log")) out.forEach((_, i) => (out[i] = Math.log(i + 1)));
    else if (name.endsWith("mixer.D") || name.endsWith("norm.weight") || name.endsWith("norm_f.weight")) out.fill(1);
    else if (name.endsWith("dt_bias")) out.forEach((_, i) => (out[i] = Math.log(Math.expm1(0.01 + 0.09 * rng.next()))));
    else {
      const scale = 1 / Math.sqrt(shape[shape.length - 1] * (name.includes("conv1d.weight") ? d.convKernel : 1));
      for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * scale;
    }
    return out;
  };
  return generatedStore(`synthetic ${dtype}`, expectedTensors(config), dtypeOf, values);
}

/**
 * A store whose tensors are generated when read (nothing is held): `values(name, n, shape)` gives the float32
 * values, stored as `dtypeOf(name)`.
 */
export function generatedStore(
  name: string,
  shapes: ReadonlyMap<string, readonly number[]>,
  dtypeOf: (name: string) => WeightDType,
  values: (name: string, n: number, shape: readonly number[]) => Float32Array,
): TensorStore {
  const tensors = new Map<string, TensorEntry>();
  let offset = 0;
  for (const [tensor, shape] of shapes) {
    const bytes = tensorBytes(shape, dtypeOf(tensor));
    tensors.set(tensor, { dtype: dtypeOf(tensor).toUpperCase(), shape, begin: offset, end: offset + bytes });
    offset += bytes;
  }
  return {
    name,
    tensors,
    async bytes(tensor) {
      const e = tensors.get(tensor)!;
      return fromFloat32(values(tensor, e.shape.reduce((a, b) => a * b, 1), e.shape), dtypeOf(tensor));
    },
  };
}

/** FNV-1a of a tensor name: a per-tensor seed offset. */
export function nameHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

