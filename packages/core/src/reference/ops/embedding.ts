import type { RefTensor } from "../tensor.js";

/** out[r, :] = table[ids[r], :]. out [R, D], table [V, D], ids i32 [R]. */
export function embedding(out: RefTensor, table: RefTensor, ids: RefTensor): void {
  const d = table.shape[1];
  const rows = ids.data.length;
  for (let r = 0; r < rows; r++) {
    const id = ids.data[r];
    out.data.set(table.data.subarray(id * d, (id + 1) * d), r * d);
  }
}
