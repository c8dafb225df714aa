import type { DType, Tensor } from "@mamba2/core";
import type { Binding } from "./runner.js";

/** A buffer holding rows [row0, row0 + rows) of a tensor. */
export interface GpuPart extends Binding {
  readonly row0: number;
  readonly rows: number;
}

/**
 * A tensor in GPU buffers, row-major. One part, except matrices larger than one storage binding, which are
 * split by rows across buffers. f16/bf16 matrices stay 16-bit (two values per u32 word).
 */
export interface GpuTensor extends Tensor {
  readonly dtype: DType;
  readonly parts: readonly GpuPart[];
  /** Bytes of the values (buffers are padded to 4-byte multiples). */
  readonly bytes: number;
}

