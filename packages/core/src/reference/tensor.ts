import type { DType, Tensor } from "../backend.js";

/** The reference backend's tensor: a plain typed array in CPU memory (weights widened to f32). */
export class RefTensor implements Tensor {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly data: Float32Array | Int32Array,
  ) {}
}
