// out[r, :] = w ⊙ x[r, :] / sqrt(mean(x[r, :]²) + eps). out, x [R, D] f32, w [D] f32.
import { hsum } from "./common";

/** Σ x[i]² over n floats at p. */
export function sumSquares(p: usize, n: i32): f32 {
  let acc: f32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(p + (<usize>i << 2));
      a = f32x4.add(a, f32x4.mul(v, v));
    }
    acc = hsum(a);
  }
  for (; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    acc += v * v;
  }
  return acc;
}

/** out[i] = w[i] · (x[i] · scale) over n floats. */
export function scaleByWeight(out: usize, x: usize, w: usize, n: i32, scale: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const s = f32x4.splat(scale);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.mul(v128.load(w + o), f32x4.mul(v128.load(x + o), s)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(w + o) * (load<f32>(x + o) * scale));
  }
}

export function rms_norm(out: usize, x: usize, w: usize, rows: i32, d: i32, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>d * 4;
    const scale: f32 = 1 / Mathf.sqrt(sumSquares(x + off, d) / <f32>d + eps);
    scaleByWeight(out + off, x + off, w, d, scale);
  }
}
