import type { Tensor } from "./backend.js";
import { fail } from "./errors.js";
import type { Mamba2Model } from "./model.js";

/** Σ −log softmax(logits[t])[ids[t+1]] over t < T−1 (float64). logits [T, V]. */
export function sumNll(logits: Float32Array, ids: readonly number[], vocab: number): number {
  let sum = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (row[i] > max) max = row[i];
    let z = 0;
    for (let i = 0; i < vocab; i++) z += Math.exp(row[i] - max);
    sum += Math.log(z) + max - row[ids[t + 1]];
  }
  return sum;
}

/** Mean next-token negative log-likelihood of one sequence (transformers' loss with labels = ids). */
export async function sequenceLoss<T extends Tensor>(model: Mamba2Model<T>, ids: readonly number[]): Promise<number> {
  if (ids.length < 2) fail(`loss needs at least 2 tokens, found ${ids.length}`);
  const { logits } = await model.forward([ids]);
  return sumNll(logits!, ids, model.dims.vocab) / (ids.length - 1);
}

export interface PerplexityResult {
  ppl: number;
  mean_nll: number;
  /** tokens scored (windows' lengths summed) */
  tokens: number;
  windows: number;
}

/** Perplexity over consecutive non-overlapping windows of `window` tokens, each scored from an empty state. */
export async function perplexity<T extends Tensor>(model: Mamba2Model<T>, ids: readonly number[], window: number): Promise<PerplexityResult> {
  if (!Number.isInteger(window) || window < 2) fail(`window must be an integer >= 2, found ${window}`);
  let sum = 0;
  let predicted = 0;
  let windows = 0;
  let scored = 0;
  for (let start = 0; start + 1 < ids.length; start += window) {
    const chunk = ids.slice(start, start + window);
    const { logits } = await model.forward([chunk]);
    sum += sumNll(logits!, chunk, model.dims.vocab);
    predicted += chunk.length - 1;
    scored += chunk.length;
    windows++;
  }
  if (predicted === 0) fail(`perplexity needs at least 2 tokens, found ${ids.length}`);
  const mean = sum / predicted;
  return { ppl: Math.exp(mean), mean_nll: mean, tokens: scored, windows };
}
