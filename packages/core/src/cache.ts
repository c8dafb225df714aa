import type { Backend, Tensor } from "./backend.js";
import type { Mamba2Dims } from "./config.js";

/**
 * The recurrent state of B sequences: per layer the conv state [B, convDim, K] (the last K inputs of the conv,
 * oldest first) and the SSM state [B, H, P, N]. Its size does not depend on the context length.
 */
export class Mamba2Cache<T extends Tensor = Tensor> {
  readonly conv: T[];
  readonly ssm: T[];
  /** Positions consumed so far (the padded length for a batch). */
  seqLen = 0;

  constructor(
    readonly backend: Backend<T>,
    readonly dims: Mamba2Dims,
    readonly batch: number,
  ) {
    const { layers, convDim, convKernel, heads, headDim, stateSize } = dims;
    this.conv = Array.from({ length: layers }, () => backend.zeros([batch, convDim, convKernel], "f32"));
    this.ssm = Array.from({ length: layers }, () => backend.zeros([batch, heads, headDim, stateSize], "f32"));
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
    this.conv.forEach((t, i) => this.backend.copy(c.conv[i], t));
    this.ssm.forEach((t, i) => this.backend.copy(c.ssm[i], t));
    c.seqLen = this.seqLen;
    return c;
  }

  free(): void {
    for (const t of [...this.conv, ...this.ssm]) this.backend.free(t);
  }
}
