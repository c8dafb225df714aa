import type { DType, Tensor } from "../backend.js";

/**
 * The reference backend's tensor: a plain typed array in CPU memory (16-bit weights widened to f32; quantized
 * matrices kept as their blocks, `data` then being the bytes).
 */
export class RefTensor implements Tensor {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly data: Float32Array | Int32Array | Uint8Array,
  ) {}
}
