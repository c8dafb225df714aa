import { fail } from "./errors.js";

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); otherwise logits are divided by it. Default 0. */
  temperature?: number;
  /** Keep only the k most likely tokens (0: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  topP?: number;
  /** Seed of the random generator; the same seed and logits give the same tokens. */
  seed?: number;
}

/** mulberry32: a small, fast, seedable generator of floats in [0, 1). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export function checkSampling(o: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1, seed = 0 } = o;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) fail(`temperature must be a number >= 0, found ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) fail(`top-k must be an integer >= 0, found ${topK}`);
  if (!(topP > 0 && topP <= 1)) fail(`top-p must be in (0, 1], found ${topP}`);
  if (!Number.isInteger(seed)) fail(`seed must be an integer, found ${seed}`);
}

/** The first index of the largest value. */
export function argmaxOf(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Draws a token from one row of logits: temperature, then top-k, then top-p over the softmax (float64).
 * Candidates are ordered by probability, ties by id, so the result depends only on logits, options and rng.
 */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  const temperature = o.temperature ?? 0;
  if (temperature === 0) return argmaxOf(logits);
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = o.topK ? Math.min(o.topK, order.length) : order.length;
  const max = logits[order[0]];
  const weights = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) {
    weights[i] = Math.exp((logits[order[i]] - max) / temperature);
    total += weights[i];
  }
  let keep = k;
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let cum = 0;
    for (let i = 0; i < k; i++) {
      cum += weights[i] / total;
      if (cum >= topP) {
        keep = i + 1;
        break;
      }
    }
    total = 0;
    for (let i = 0; i < keep; i++) total += weights[i];
  }
  let u = rng.next() * total;
  for (let i = 0; i < keep; i++) {
    u -= weights[i];
    if (u < 0) return order[i];
  }
  return order[keep - 1];
}
