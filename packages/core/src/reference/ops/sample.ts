import { type DrawOptions, drawToken } from "../../sampling.js";
import type { RefTensor } from "../tensor.js";

/** out[r] = drawToken(x[r, :], o, u[r]): top-k, top-p and min-p, then the draw, in float64. out i32 [R], x [R, V], u [R]. */
export function sample(out: RefTensor, x: RefTensor, u: RefTensor, o: DrawOptions): void {
  const v = x.shape[x.shape.length - 1];
  for (let r = 0; r < out.data.length; r++) out.data[r] = drawToken(x.data.subarray(r * v, (r + 1) * v), o, u.data[r]);
}
