// out[r, :] = table[ids[r], :]. out [R, D] f32, table [V, D] f32 | f16 | bf16 | q8_0 | q4_0 | q4_k, ids i32 [R].
import { F32, loadW, Q8_0 } from "./common";
import { dequantizeRow, rowBytes } from "./quant";

export function embedding(out: usize, table: usize, ids: usize, rows: i32, d: i32, dtype: i32): void {
  const row: usize = dtype >= Q8_0 ? rowBytes(dtype, d) : <usize>d * (dtype == F32 ? 4 : 2);
  for (let r = 0; r < rows; r++) {
    const src = table + <usize>load<i32>(ids + (<usize>r << 2)) * row;
    const dst = out + <usize>r * <usize>d * 4;
    if (dtype == F32) memory.copy(dst, src, <usize>d << 2);
    else if (dtype >= Q8_0) dequantizeRow(dst, src, d, dtype);
    else for (let i = 0; i < d; i++) store<f32>(dst + (<usize>i << 2), loadW(src, i, dtype));
  }
}
