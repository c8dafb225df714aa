/**
 * A generation session: one model plus the state of B sequences (a llama.cpp context, in transformers.js terms
 * the past state carried between `generate` calls). Each `generate` feeds its input after everything before it,
 * streams `{row, token, text}` deltas and leaves the session where it stopped, so that the next call — or a saved
 * and reloaded state, or a fork — continues exactly as one uninterrupted run would.
 *
 * Per step: each row still running chooses a token (see sampling.ts); a row ends at an EOS id (emitted, no text),
 * at a stop string (the text ends before it, the token is emitted) or at maxNewTokens. Ended rows are masked in
 * the following steps, so each row of a batch is exactly its unbatched run, stopping on its own.
 */
import type { Tensor } from "./backend.js";
import { eosIds, type Mamba2Config } from "./config.js";
import { fail } from "./errors.js";
import { Lookahead } from "./lookahead.js";
import { nllOf } from "./loss.js";
import type { Mamba2Model, TokenIds } from "./model.js";
import { checkPrefillChunk, feed, type FeedOptions, leftPad, type Next } from "./prefill.js";
import { checkSampling, drawOptions, hasPenalties, Rng, sampleToken, type SamplingOptions, TokenHistory } from "./sampling.js";
import { Mamba2State } from "./state.js";
import { checkStops, StopText, type TokenDecoder } from "./text.js";

export type FinishReason = "eos" | "stop" | "length";

/** One new token of one row. */
export interface GenerationDelta {
  /** The row of the batch (0 for a single prompt). */
  readonly row: number;
  readonly token: number;
  /** The text this token completes ("" without a decoder, for EOS, or while held back by a possible stop string). */
  readonly text: string;
  /** log p(token) under the model (its raw logits, before penalties and temperature), with `logprobs`. */
  readonly logprob?: number;
  /** Set on the row's last delta of this call. */
  readonly finish?: FinishReason;
}

export interface GenerateOptions extends SamplingOptions {
  /** How many tokens to generate at most (default 32). */
  maxNewTokens?: number;
  /** Ids that end a row (default: the config's eos_token_id); the EOS token itself is emitted. */
  eosTokenId?: number | readonly number[] | null;
  /** Text that ends a row; needs `decoder`. The text of the deltas stops before it. */
  stop?: string | readonly string[];
  /** Gives the deltas their text, e.g. a `Mamba2Tokenizer`. */
  decoder?: TokenDecoder;
  /** Add each token's log-probability to its delta. */
  logprobs?: boolean;
  /** Tokens per model call while feeding the input (default 2048): memory stays bounded for any length. */
  prefillChunk?: number;
  /** Aborting stops generation before the next model call; the iteration throws the signal's reason. */
  signal?: AbortSignal;
}

export interface CompleteOptions extends GenerateOptions {
  /** Called with each delta as it is generated. */
  onDelta?: (delta: GenerationDelta) => void;
}

/** Everything one call generated, per row. */
export interface Completion {
  readonly tokens: number[][];
  /** The text of the deltas ("" without a decoder). */
  readonly text: string[];
  /** Per-token log-probabilities, with `logprobs`. */
  readonly logprobs: number[][] | null;
  /** Why each row ended (null: it generated nothing). */
  readonly finish: (FinishReason | null)[];
}

export class Mamba2Session<T extends Tensor = Tensor> {
  private state: Mamba2State<T> | null = null;
  /** Decoding ahead on a queued backend, kept between calls (see Lookahead). */
  private ahead: Lookahead<T> | null = null;

  constructor(readonly model: Mamba2Model<T>) {}

  /** Sequences held (0 until the first input sets it). */
  get batch(): number {
    return this.state?.batch ?? 0;
  }

  /** Positions fed so far (the padded length for a batch). */
  get seqLen(): number {
    return this.state?.seqLen ?? 0;
  }

  /**
   * Feeds `input` (one row of ids, or one row per sequence, of any lengths; nothing to just go on), then streams
   * up to maxNewTokens deltas per row. The first input sets the batch size.
   */
  async *generate(input?: TokenIds, options: GenerateOptions = {}): AsyncGenerator<GenerationDelta, void, undefined> {
    const maxNew = options.maxNewTokens ?? 32;
    if (!Number.isInteger(maxNew) || maxNew < 0) fail(`max new tokens must be an integer >= 0, found ${maxNew}`);
    checkSampling(options);
    const chunk = checkPrefillChunk(options.prefillChunk);
    const eos = eosList(this.model.config, options.eosTokenId);
    const stops = checkStops(options.stop, options.decoder);
    const rows = rowsOf(input);
    const state = this.prepare(rows, options.seed);
    const texts = Array.from({ length: state.batch }, () => new StopText(options.decoder, stops));
    // Greedy, and sampling where the backend can draw on the device, read back only ids (no penalties or logprobs:
    // those need the logits on the host). A device draw takes the same one number per row from each row's generator.
    const sampled = (options.temperature ?? 0) > 0;
    const onDevice = !hasPenalties(options) && !options.logprobs && maxNew > 0 && (!sampled || this.model.backend.kernels.sample !== undefined);
    const want = onDevice ? "ids" : "logits";
    const done = Array<boolean>(state.batch).fill(false);
    const drawOn = drawOptions(options);
    const draw = onDevice && sampled ? () => ({ options: drawOn, u: Float32Array.from(state.rngs, (rng, b) => (done[b] ? 0 : rng.next())) }) : undefined;
    const { signal } = options;

    this.ahead?.undo(); // a step ahead left by a generator dropped without being closed
    const ahead = onDevice && this.model.backend.queued && maxNew > 1 ? this.lookahead(state.batch) : null;
    // going on without new input: the first step is a device step too, from the pending tokens
    const pendingOnly = ahead && state.pending && rows.every((r) => r.length === 0) ? Int32Array.from(state.pending) : null;
    try {
      let next: Next;
      if (ahead && pendingOnly) {
        signal?.throwIfAborted();
        ahead.record(state, draw, done, pendingOnly);
        ahead.record(state, draw, done); // step 1, from step 0's tokens on the device, before the host reads them
        next = { ids: await ahead.take() };
      } else {
        next = await this.feedInput(state, rows, { chunk, want, draw, signal });
      }
      const vocab = this.model.dims.vocab;
      for (let step = 0; step < maxNew; step++) {
        const more = step + 1 < maxNew;
        if (step > 0 && ahead) {
          signal?.throwIfAborted();
          if (more) ahead.record(state, draw, done); // from this step's tokens on the device, before the host reads them
          next = { ids: await ahead.take() };
        } else if (step > 0) {
          const ids = Array.from(state.pending!, (t) => [t]);
          const mask = done.some(Boolean) ? done.map((d) => [d ? 0 : 1]) : null;
          next = await feed(this.model, ids, mask, state.cache, { chunk, want, draw, signal });
        }
        const pending = state.pending ? Int32Array.from(state.pending) : new Int32Array(state.batch);
        const deltas: GenerationDelta[] = [];
        for (let b = 0; b < state.batch; b++) {
          if (done[b]) continue;
          const logits = "logits" in next ? next.logits.subarray(b * vocab, (b + 1) * vocab) : null;
          const token = logits ? sampleToken(logits, options, state.rngs[b], state.histories[b]) : (next as { ids: Int32Array }).ids[b];
          pending[b] = token;
          state.histories[b].addGenerated(token);
          const { text, finish } = textOf(texts[b], token, eos, step === maxNew - 1);
          done[b] = finish !== undefined;
          deltas.push({ row: b, token, text, ...(logits && options.logprobs ? { logprob: -nllOf(logits, token) } : {}), ...(finish ? { finish } : {}) });
        }
        state.pending = pending;
        state.logits = null;
        if (ahead && more && !done.every(Boolean)) {
          // the first step ahead starts from the host's tokens; a step recorded while a row was ending is redone
          if (step === 0 && !pendingOnly) ahead.record(state, draw, done, pending);
          else if (deltas.some((d) => d.finish)) {
            ahead.undo();
            ahead.record(state, draw, done, pending);
          }
        }
        yield* deltas;
        if (done.every(Boolean)) break;
      }
      if (maxNew === 0 && "logits" in next) state.logits = next.logits;
    } finally {
      ahead?.undo();
    }
  }

  /** The callback form of `generate`: runs it to the end and returns what each row generated. */
  async complete(input?: TokenIds, options: CompleteOptions = {}): Promise<Completion> {
    const rows: { tokens: number[]; text: string; logprobs: number[]; finish: FinishReason | null }[] = [];
    for await (const d of this.generate(input, options)) {
      options.onDelta?.(d);
      const r = (rows[d.row] ??= { tokens: [], text: "", logprobs: [], finish: null });
      r.tokens.push(d.token);
      r.text += d.text;
      if (d.logprob !== undefined) r.logprobs.push(d.logprob);
      r.finish = d.finish ?? null;
    }
    const all = Array.from({ length: this.batch }, (_, b) => rows[b] ?? { tokens: [], text: "", logprobs: [], finish: null });
    return {
      tokens: all.map((r) => r.tokens),
      text: all.map((r) => r.text),
      logprobs: options.logprobs ? all.map((r) => r.logprobs) : null,
      finish: all.map((r) => r.finish),
    };
  }

  /** A snapshot of the state (an independent copy on the device) for `loadState` or `serializeState`. */
  saveState(): Mamba2State<T> {
    if (!this.state) fail("saveState: the session is empty (nothing was fed yet)");
    this.ahead?.undo();
    return this.state.clone();
  }

  /** Continues from `state` (copied: the snapshot stays usable) instead of what the session held. */
  loadState(state: Mamba2State<T>): void {
    if (state.model !== this.model) fail("loadState: the state belongs to another model object (deserializeState it with this model)");
    this.ahead?.undo();
    this.state?.free();
    this.state = state.clone();
  }

  /** An independent session that continues from the same point. */
  fork(): Mamba2Session<T> {
    const s = new Mamba2Session(this.model);
    this.ahead?.undo();
    s.state = this.state?.clone() ?? null;
    return s;
  }

  /** Back to the empty session (the next input sets the batch size again). */
  reset(): void {
    this.ahead?.free();
    this.state?.free();
    this.state = null;
    this.ahead = null;
  }

  free(): void {
    this.reset();
  }

  /** The session's Lookahead for `batch` rows. */
  private lookahead(batch: number): Lookahead<T> {
    if (this.ahead?.batch !== batch) {
      this.ahead?.free();
      this.ahead = new Lookahead(this.model, batch);
    }
    return this.ahead;
  }

  /** The session's state for this input: a new one for the first input; the seeds applied. */
  private prepare(rows: (readonly number[])[], seed: SamplingOptions["seed"]): Mamba2State<T> {
    const batch = this.state?.batch ?? rows.length;
    if (!this.state) {
      if (rows.length === 0) fail("generate: nothing to continue from: give a prompt");
      if (rows.some((r) => r.length === 0)) fail("generate: every prompt needs at least one token");
    } else if (rows.length > 0 && rows.length !== batch) {
      fail(`generate: the session holds ${batch} sequences but the input has ${rows.length} rows`);
    }
    const seeds = seed === undefined || typeof seed === "number" ? Array<number | undefined>(batch).fill(seed) : seed;
    if (seeds.length !== batch) fail(`seed: ${seeds.length} seeds for ${batch} rows`);
    this.state ??= new Mamba2State(
      this.model, this.model.createCache(batch), null, null,
      Array.from({ length: batch }, () => new Rng(0)), Array.from({ length: batch }, () => new TokenHistory()),
    );
    const state = this.state;
    seeds.forEach((s, b) => {
      if (s !== undefined) state.rngs[b] = new Rng(s);
    });
    return state;
  }

  /** Feeds each row's pending token and new input (left-padded); without either, the saved logits. */
  private async feedInput(state: Mamba2State<T>, rows: (readonly number[])[], o: FeedOptions): Promise<Next> {
    const pending = state.pending;
    const fed = Array.from({ length: state.batch }, (_, b) => [...(pending ? [pending[b]] : []), ...(rows[b] ?? [])]);
    if (fed.every((r) => r.length === 0)) {
      if (!state.logits) fail("generate: nothing to continue from: give a prompt");
      return { logits: state.logits };
    }
    const empty = fed.findIndex((r) => r.length === 0);
    if (empty >= 0) fail(`generate: row ${empty} has no new tokens while others do: give every row some input`);
    const { ids, mask } = leftPad(fed, this.model.config.pad_token_id ?? 0);
    this.model.checkIds(ids);
    rows.forEach((r, b) => state.histories[b].addContext(r));
    o.signal?.throwIfAborted();
    state.pending = null;
    state.logits = null;
    return feed(this.model, ids, mask, state.cache, o);
  }
}

/** The text of a row's new token and whether the row ends with it. */
function textOf(text: StopText, token: number, eos: readonly number[], last: boolean): { text: string; finish?: FinishReason } {
  if (eos.includes(token)) {
    const end = text.end();
    return { text: end.text, finish: end.stopped ? "stop" : "eos" };
  }
  const r = text.push(token);
  if (r.stopped) return { text: r.text, finish: "stop" };
  if (!last) return { text: r.text };
  const end = text.end();
  return { text: r.text + end.text, finish: end.stopped ? "stop" : "length" };
}

function rowsOf(input: TokenIds | undefined): (readonly number[])[] {
  if (input === undefined || input.length === 0) return [];
  return (typeof input[0] === "number" ? [input] : input) as (readonly number[])[];
}

function eosList(config: Mamba2Config, e: GenerateOptions["eosTokenId"]): readonly number[] {
  const ids = e === undefined ? eosIds(config) : e === null ? [] : typeof e === "number" ? [e] : e;
  for (const id of ids) if (!Number.isInteger(id)) fail(`EOS token ids must be integers, found ${id}`);
  return ids;
}
