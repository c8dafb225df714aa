import type { Activation } from "../config.js";

/** Scalar helpers of the reference ops, in float64. */
export const silu = (x: number): number => x / (1 + Math.exp(-x));

/** torch's softplus (beta 1, threshold 20). */
export const softplus = (x: number): number => (x > 20 ? x : Math.log1p(Math.exp(x)));

export function activate(x: number, act: Activation): number {
  switch (act) {
    case "silu":
    case "swish":
      return silu(x);
    case "relu":
      return x > 0 ? x : 0;
    case "identity":
      return x;
  }
}

/** dt of one head: softplus(raw + bias) clamped to [min, max]. */
export function stepSize(raw: number, bias: number, min: number, max: number): number {
  const dt = softplus(raw + bias);
  return dt < min ? min : dt > max ? max : dt;
}
