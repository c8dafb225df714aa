/**
 * Decoding ahead on a queued backend (Backend.queued, WebGPU): step n + 1 is recorded from step n's tokens left on
 * the device before step n's tokens are read back, so two steps are in flight and the device does not wait for
 * the host to record the next one. A step recorded that way assumes that every running row goes on. Where step n
 * ends a row, step n + 1 is undone (the cache back from the copy taken before it, each row's generator back to
 * before its draw) and recorded again with that row masked; where generation stops, it is undone. The state is
 * always that of plain step-by-step decoding. A session keeps its Lookahead (the step's device tensors) from one
 * generate call to the next, so that a backend that replays a step's commands (Backend.replay) records them once.
 */
import type { Tensor } from "./backend.js";
import { Mamba2Cache } from "./cache.js";
import type { DeviceDraw, DeviceStep, Mamba2Model } from "./model.js";
import { Rng } from "./sampling.js";
import type { Mamba2State } from "./state.js";

export class Lookahead<T extends Tensor> {
  private readonly step: DeviceStep<T>;
  /** Steps recorded and not yet taken, oldest first: their tokens, state, and the generators' states before their draws. */
  private readonly queue: { ids: Promise<Int32Array>; state: Mamba2State<T>; rngs: number[] }[] = [];

  constructor(
    private readonly model: Mamba2Model<T>,
    readonly batch: number,
  ) {
    const b = model.backend;
    this.step = { tokens: b.zeros([batch], "i32"), backup: new Mamba2Cache(b, model.dims, batch) };
  }

  /**
   * Records the next step of `state` (rows marked done are masked, tokens drawn with `draw` or greedy): from `ids`,
   * or from the last step's tokens on the device.
   */
  record(state: Mamba2State<T>, draw: (() => DeviceDraw) | undefined, done: readonly boolean[], ids?: Int32Array): void {
    const rngs = state.rngs.map((r) => r.state);
    if (ids) this.model.backend.write(this.step.tokens, ids);
    const mask = done.some(Boolean) ? done.map((d) => [d ? 0 : 1]) : undefined;
    const model = this.model;
    const next = draw ? model.nextSampled(this.step, state.cache, draw(), mask) : model.nextGreedy(this.step, state.cache, mask);
    this.queue.push({ ids: next, state, rngs });
  }

  /** The oldest recorded step's tokens (it counts as done). */
  take(): Promise<Int32Array> {
    return this.queue.shift()!.ids;
  }

  /** Undoes the newest recorded step, if one is not taken (the backup holds its state's cache from before it). */
  undo(): void {
    const last = this.queue.pop();
    if (!last) return;
    last.ids.catch(() => {}); // its tokens are not needed
    last.state.cache.copyFrom(this.step.backup);
    last.rngs.forEach((s, b) => (last.state.rngs[b] = new Rng(s)));
  }

  free(): void {
    this.model.backend.free(this.step.tokens);
    this.step.backup.free();
  }
}
