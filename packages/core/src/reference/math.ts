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
    case "gelu":
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case "identity":
      return x;
  }
}

/** Abramowitz–Stegun 7.1.26 is too coarse for an oracle: use the series / continued fraction split. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc (Lentz), accurate for |x| ≥ 2.5.
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 100; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

/** dt of one head: softplus(raw + bias) clamped to [min, max]. */
export function stepSize(raw: number, bias: number, min: number, max: number): number {
  const dt = softplus(raw + bias);
  return dt < min ? min : dt > max ? max : dt;
}
