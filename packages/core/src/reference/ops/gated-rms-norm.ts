import { silu } from "../math.js";
import type { RefTensor } from "../tensor.js";

/**
 * g = y ⊙ silu(z); out = w ⊙ g / sqrt(mean(g²) + eps), the mean over each group of `groupSize` channels.
 * out, y [R, E], z [R, S] (its first E columns), weight [E].
 */
export function gatedRmsNorm(out: RefTensor, y: RefTensor, z: RefTensor, weight: RefTensor, eps: number, groupSize: number): void {
  const e = weight.data.length;
  const zStride = z.shape[z.shape.length - 1];
  const rows = y.data.length / e;
  const g = new Float64Array(groupSize);
  for (let r = 0; r < rows; r++) {
    for (let start = 0; start < e; start += groupSize) {
      let ss = 0;
      for (let i = 0; i < groupSize; i++) {
        const v = y.data[r * e + start + i] * silu(z.data[r * zStride + start + i]);
        g[i] = v;
        ss += v * v;
      }
      const scale = 1 / Math.sqrt(ss / groupSize + eps);
      for (let i = 0; i < groupSize; i++) out.data[r * e + start + i] = weight.data[start + i] * (g[i] * scale);
    }
  }
}
