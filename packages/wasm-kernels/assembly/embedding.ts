// out[r, :] = table[ids[r], :]. out [R, D] f32, table [V, D] f32 | f16 | bf16, ids i32 [R].
import { F32, loadW } from "./common";

export function embedding(out: usize, table: usize, ids: usize, rows: i32, d: i32, dtype: i32): void {
  const wb: usize = dtype == F32 ? 4 : 2;
  for (let r = 0; r < rows; r++) {
    const src = table + <usize>load<i32>(ids + (<usize>r << 2)) * <usize>d * wb;
    const dst = out + <usize>r * <usize>d * 4;
    if (dtype == F32) memory.copy(dst, src, <usize>d << 2);
    else for (let i = 0; i < d; i++) store<f32>(dst + (<usize>i << 2), loadW(src, i, dtype));
  }
}
