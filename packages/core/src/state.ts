import type { Tensor } from "./backend.js";
import type { Mamba2Cache } from "./cache.js";
import type { Mamba2Model } from "./model.js";
import { Rng, type TokenHistory } from "./sampling.js";

/**
 * Everything generation needs to go on exactly where it stopped, for B sequences: the recurrent cache (on the
 * model's backend), what the next step starts from, and each row's sampler state. After a generation step the
 * last emitted token of each row is `pending` (chosen, not yet fed); after a prefill without generation the next
 * step starts from the saved `logits` [B, V]. Once anything was fed, exactly one of the two is set (neither after
 * an abort in the middle of a prefill: the cache then holds the slices fed so far).
 */
export class Mamba2State<T extends Tensor = Tensor> {
  constructor(
    readonly model: Mamba2Model<T>,
    readonly cache: Mamba2Cache<T>,
    public pending: Int32Array | null,
    public logits: Float32Array | null,
    /** Each row's random generator. */
    readonly rngs: Rng[],
    /** Each row's ids in context and generated, for the penalties. */
    readonly histories: TokenHistory[],
  ) {}

  get batch(): number {
    return this.cache.batch;
  }

  /** Positions fed so far (the padded length for a batch). */
  get seqLen(): number {
    return this.cache.seqLen;
  }

  /** An independent copy (the cache is copied on the device). */
  clone(): Mamba2State<T> {
    return new Mamba2State(
      this.model,
      this.cache.clone(),
      this.pending && Int32Array.from(this.pending),
      this.logits && Float32Array.from(this.logits),
      this.rngs.map((r) => new Rng(r.state)),
      this.histories.map((h) => h.clone()),
    );
  }

  /** Frees the cache's device memory; the state is unusable afterwards. */
  free(): void {
    this.cache.free();
  }
}
