import type { Backend, Tensor } from "./backend.js";
import type { Mamba2Dims } from "./config.js";
import { fail } from "./errors.js";
import type { HostTensor } from "./host-tensor.js";

/**
 * The recurrent state of B sequences: per layer the conv state [B, convDim, K] (the last K inputs of the conv,
 * oldest first) and the SSM state [B, H, P, N]. Its size does not depend on the context length.
 */
export class Mamba2Cache<T extends Tensor = Tensor> {
  readonly conv: readonly T[];
  readonly ssm: readonly T[];
  /** What holds the states: one tensor per kind where the backend can stack them (Backend.stack), else each layer's. */
  private readonly held: readonly T[];
  /** Positions consumed so far (the padded length for a batch). */
  seqLen = 0;

  constructor(
    readonly backend: Backend<T>,
    readonly dims: Mamba2Dims,
    readonly batch: number,
  ) {
    const { layers, convDim, convKernel, heads, headDim, stateSize } = dims;
    const states = (shape: number[]) => backend.stack?.(shape, layers) ?? { items: Array.from({ length: layers }, () => backend.zeros(shape, "f32")), whole: null };
    const conv = states([batch, convDim, convKernel]);
    const ssm = states([batch, heads, headDim, stateSize]);
    this.conv = conv.items;
    this.ssm = ssm.items;
    this.held = conv.whole && ssm.whole ? [conv.whole, ssm.whole] : [...conv.items, ...ssm.items];
  }

  /** Layer l's conv state [B, convDim, K] (transformers' `conv_states[l]`), read from the device. */
  async convState(layer: number): Promise<HostTensor> {
    return this.read(this.conv, layer, "conv");
  }

  /** Layer l's SSM state [B, H, P, N] (transformers' `ssm_states[l]`), read from the device. */
  async ssmState(layer: number): Promise<HostTensor> {
    return this.read(this.ssm, layer, "ssm");
  }

  private async read(states: readonly T[], layer: number, what: string): Promise<HostTensor> {
    if (!Number.isInteger(layer) || layer < 0 || layer >= states.length) fail(`${what} state of layer ${layer}: the cache has layers 0 to ${states.length - 1}`);
    return { data: await this.backend.readF32(states[layer]), dims: states[layer].shape };
  }

  /** Back to the empty state (before any token). */
  reset(): void {
    for (const t of [...this.conv, ...this.ssm]) {
      this.backend.write(t, new Float32Array(t.shape.reduce((a, b) => a * b, 1)));
    }
    this.seqLen = 0;
  }

  /** An independent copy on the same backend. */
  clone(): Mamba2Cache<T> {
    const c = new Mamba2Cache(this.backend, this.dims, this.batch);
    c.copyFrom(this);
    return c;
  }

  /** This ← src (a cache of the same model and batch), on the device. */
  copyFrom(src: Mamba2Cache<T>): void {
    if (src.batch !== this.batch || src.conv.length !== this.conv.length) fail(`copyFrom: a cache of ${src.batch} rows and ${src.conv.length} layers into one of ${this.batch} and ${this.conv.length}`);
    src.held.forEach((t, i) => this.backend.copy(this.held[i], t));
    this.seqLen = src.seqLen;
  }

  free(): void {
    for (const t of this.held) this.backend.free(t);
  }
}
