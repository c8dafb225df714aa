import type { Tensor } from "./backend.js";
import { fail } from "./errors.js";
import type { Mamba2Model } from "./model.js";
import { checkPrefillChunk } from "./prefill.js";

/** −log softmax(row)[id] in float64. */
export function nllOf(row: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - max);
  return Math.log(z) + max - row[id];
}

/** Σ −log softmax(logits[t])[ids[t+1]] over t < T−1 (float64). logits [T, V]. */
export function sumNll(logits: Float32Array, ids: readonly number[], vocab: number): number {
  let sum = 0;
  for (let t = 0; t + 1 < ids.length; t++) sum += nllOf(logits.subarray(t * vocab, (t + 1) * vocab), ids[t + 1]);
  return sum;
}

/**
 * log p(ids[t] | ids[0..t−1]) for t = 1 … T−1 (float64), from the empty state. The sequence goes through the
 * model in slices of `prefillChunk` tokens (default 2048), so memory is O(chunk · V) for any length.
 */
export async function tokenLogprobs<T extends Tensor>(model: Mamba2Model<T>, ids: readonly number[], options: { prefillChunk?: number } = {}): Promise<Float64Array> {
  if (ids.length < 2) fail(`log-probabilities need at least 2 tokens, found ${ids.length}`);
  const chunk = checkPrefillChunk(options.prefillChunk);
  const vocab = model.dims.vocab;
  const out = new Float64Array(ids.length - 1);
  const cache = model.createCache(1);
  try {
    for (let start = 0; start + 1 < ids.length; start += chunk) {
      const slice = ids.slice(start, start + chunk);
      const { logits } = await model.forward([slice], { cache });
      for (let t = start; t < start + slice.length && t + 1 < ids.length; t++) {
        out[t] = -nllOf(logits!.subarray((t - start) * vocab, (t - start + 1) * vocab), ids[t + 1]);
      }
    }
  } finally {
    cache.free();
  }
  return out;
}

/** Mean next-token negative log-likelihood of one sequence (transformers' loss with labels = ids). */
export async function sequenceLoss<T extends Tensor>(model: Mamba2Model<T>, ids: readonly number[]): Promise<number> {
  if (ids.length < 2) fail(`loss needs at least 2 tokens, found ${ids.length}`);
  return -sum(await tokenLogprobs(model, ids)) / (ids.length - 1);
}

const sum = (x: Float64Array) => x.reduce((a, b) => a + b, 0);

export interface PerplexityResult {
  ppl: number;
  mean_nll: number;
  /** tokens scored (windows' lengths summed) */
  tokens: number;
  windows: number;
}

/**
 * Perplexity over consecutive non-overlapping windows of `window` tokens, each scored from an empty state (a
 * window longer than the sequence scores it whole, the state carried throughout, in bounded memory).
 */
export async function perplexity<T extends Tensor>(model: Mamba2Model<T>, ids: readonly number[], window: number): Promise<PerplexityResult> {
  if (!Number.isInteger(window) || window < 2) fail(`window must be an integer >= 2, found ${window}`);
  let total = 0;
  let predicted = 0;
  let windows = 0;
  let scored = 0;
  for (let start = 0; start + 1 < ids.length; start += window) {
    const chunk = ids.slice(start, start + window);
    total -= sum(await tokenLogprobs(model, chunk));
    predicted += chunk.length - 1;
    scored += chunk.length;
    windows++;
  }
  if (predicted === 0) fail(`perplexity needs at least 2 tokens, found ${ids.length}`);
  const mean = total / predicted;
  return { ppl: Math.exp(mean), mean_nll: mean, tokens: scored, windows };
}
