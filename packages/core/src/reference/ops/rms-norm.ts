import type { RefTensor } from "../tensor.js";

/** out[r, :] = w ⊙ x[r, :] / sqrt(mean(x[r, :]²) + eps). out, x [R, D], weight [D]. */
export function rmsNorm(out: RefTensor, x: RefTensor, weight: RefTensor, eps: number): void {
  const d = weight.data.length;
  const rows = x.data.length / d;
  const xs = x.data;
  const w = weight.data;
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += xs[base + i] * xs[base + i];
    const scale = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) out.data[base + i] = w[i] * (xs[base + i] * scale);
  }
}
