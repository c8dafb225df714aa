import type { RefTensor } from "../tensor.js";

/** out[r] = the first index of the largest x[r, :]. out i32 [R], x [R, V]. */
export function argmax(out: RefTensor, x: RefTensor): void {
  const v = x.shape[x.shape.length - 1];
  for (let r = 0; r < out.data.length; r++) {
    let best = 0;
    for (let i = 1; i < v; i++) if (x.data[r * v + i] > x.data[r * v + best]) best = i;
    out.data[r] = best;
  }
}
