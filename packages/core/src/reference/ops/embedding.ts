import { dequantize, isQuantized, QUANT_BLOCKS } from "../../quant.js";
import type { RefTensor } from "../tensor.js";

/** out[r, :] = table[ids[r], :]. out [R, D], table [V, D] (f32, or quantized rows dequantized), ids i32 [R]. */
export function embedding(out: RefTensor, table: RefTensor, ids: RefTensor): void {
  const d = table.shape[1];
  const rows = ids.data.length;
  const dtype = table.dtype;
  for (let r = 0; r < rows; r++) {
    const id = ids.data[r];
    if (isQuantized(dtype)) dequantize(table.data as Uint8Array, dtype, (id * d) / QUANT_BLOCKS[dtype].values, d, out.data as Float32Array, r * d);
    else out.data.set(table.data.subarray(id * d, (id + 1) * d), r * d);
  }
}
