/**
 * Choosing the next token from one row of logits, on the host in float64, in this order:
 *   1. penalties on the raw logits: repetition (CTRL / transformers: l > 0 ? l / r : l · r for every id already
 *      in the context, prompt or generated), then presence and frequency (OpenAI: l − presence·[n > 0] −
 *      frequency·n, n = times the id was generated);
 *   2. temperature 0: the first index of the largest value (greedy); otherwise w = exp((l − max) / temperature);
 *   3. top-k, 4. top-p (the smallest prefix whose mass reaches p), 5. min-p (w ≥ min-p · w_max), over candidates
 *      ordered by logit, ties by id;
 *   6. one draw of the seeded generator over what is kept.
 * The result depends only on the logits, the options, the history and the generator's state.
 */
import { fail } from "./errors.js";

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); otherwise logits are divided by it. Default 0. */
  temperature?: number;
  /** Keep only the k most likely tokens (0: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  topP?: number;
  /** Keep only tokens at least min-p times as likely as the most likely one (0: all). */
  minP?: number;
  /** > 1 discourages every id already in the context (prompt or generated); 1: off. */
  repetitionPenalty?: number;
  /** Subtracted once from the logit of every id generated so far; 0: off. */
  presencePenalty?: number;
  /** Subtracted from the logit of an id once per time it was generated; 0: off. */
  frequencyPenalty?: number;
  /** Seed of the random generator, or one seed per row of a batch; the same seed and logits give the same tokens. */
  seed?: number | readonly number[];
}

/** mulberry32: a small, fast, seedable generator of floats in [0, 1). Its whole state is one uint32. */
export class Rng {
  private s: number;
  /** `seed` is also how a saved `state` is restored. */
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  get state(): number {
    return this.s;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** What the penalties look at for one sequence: the ids in its context and how often each was generated. */
export class TokenHistory {
  constructor(
    readonly seen = new Set<number>(),
    readonly generated = new Map<number, number>(),
  ) {}
  addContext(ids: Iterable<number>): void {
    for (const id of ids) this.seen.add(id);
  }
  addGenerated(id: number): void {
    this.seen.add(id);
    this.generated.set(id, (this.generated.get(id) ?? 0) + 1);
  }
  clone(): TokenHistory {
    return new TokenHistory(new Set(this.seen), new Map(this.generated));
  }
}

export function checkSampling(o: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1, minP = 0, repetitionPenalty = 1, presencePenalty = 0, frequencyPenalty = 0, seed = 0 } = o;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) fail(`temperature must be a number >= 0, found ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) fail(`top-k must be an integer >= 0, found ${topK}`);
  if (!(topP > 0 && topP <= 1)) fail(`top-p must be in (0, 1], found ${topP}`);
  if (!(minP >= 0 && minP <= 1)) fail(`min-p must be in [0, 1], found ${minP}`);
  if (!(repetitionPenalty > 0) || !Number.isFinite(repetitionPenalty)) fail(`repetition penalty must be a number > 0, found ${repetitionPenalty}`);
  if (!Number.isFinite(presencePenalty)) fail(`presence penalty must be a finite number, found ${presencePenalty}`);
  if (!Number.isFinite(frequencyPenalty)) fail(`frequency penalty must be a finite number, found ${frequencyPenalty}`);
  for (const s of [seed].flat()) if (!Number.isInteger(s)) fail(`seed must be an integer, found ${s}`);
}

/** Whether the options change the logits before the choice (then greedy decoding needs them on the host). */
export function hasPenalties(o: SamplingOptions): boolean {
  return (o.repetitionPenalty ?? 1) !== 1 || (o.presencePenalty ?? 0) !== 0 || (o.frequencyPenalty ?? 0) !== 0;
}

/** The first index of the largest value. */
export function argmaxOf(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Step 1: the logits as float64 with the penalties applied. */
function penalized(logits: ArrayLike<number>, o: SamplingOptions, history: TokenHistory | undefined): Float64Array {
  const x = Float64Array.from(logits);
  if (!history) return x;
  const r = o.repetitionPenalty ?? 1;
  if (r !== 1) for (const id of history.seen) x[id] = x[id] > 0 ? x[id] / r : x[id] * r;
  const presence = o.presencePenalty ?? 0;
  const frequency = o.frequencyPenalty ?? 0;
  if (presence !== 0 || frequency !== 0) for (const [id, n] of history.generated) x[id] -= presence + frequency * n;
  return x;
}

/** Draws a token from one row of logits (see the header for the order of the steps). */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng, history?: TokenHistory): number {
  const x = penalized(logits, o, history);
  return (o.temperature ?? 0) === 0 ? argmaxOf(x) : drawToken(x, o, rng.next());
}

/** What a device needs to draw a token itself (no penalties): see `Kernels.sample`. */
export interface DrawOptions {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
}

export function drawOptions(o: SamplingOptions): DrawOptions {
  return { temperature: o.temperature ?? 0, topK: o.topK ?? 0, topP: o.topP ?? 1, minP: o.minP ?? 0 };
}

/** Steps 2–6 for temperature > 0, with the generator's draw `u` in [0, 1). */
export function drawToken(x: ArrayLike<number>, o: SamplingOptions, u: number): number {
  const temperature = o.temperature ?? 0;
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[b] - x[a] || a - b);
  const k = o.topK ? Math.min(o.topK, order.length) : order.length;
  const max = x[order[0]];
  const weights = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) {
    weights[i] = Math.exp((x[order[i]] - max) / temperature);
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
  }
  const minP = o.minP ?? 0;
  while (keep > 1 && weights[keep - 1] < minP) keep--; // weights[0] = 1 is the largest
  total = 0;
  for (let i = 0; i < keep; i++) total += weights[i];
  let rest = u * total;
  for (let i = 0; i < keep; i++) {
    rest -= weights[i];
    if (rest < 0) return order[i];
  }
  return order[keep - 1];
}
