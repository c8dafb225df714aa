// Σ of n·16 products v·2^56 (4 chains of f32x4, the sign of v flipped each step): the host times it with v
// subnormal and with v normal, to learn whether this CPU multiplies subnormal floats at full speed (AMD Zen) or
// through slow assists (Intel), and so whether f16 matrices need their subnormal maps (matmul.ts's halfMap). SIMD
// builds only (the scalar build keeps no maps): there it returns 0.
import { hsum } from "./common";

export function multiply_chain(n: i32, v: f32): f32 {
  let acc: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    const s = f32x4.splat(7.205759403792794e16);
    const flip = i32x4.splat(0x80000000);
    let x = f32x4.splat(v);
    let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
    for (let i = 0; i < n; i++) {
      a = f32x4.add(a, f32x4.mul(x, s));
      b = f32x4.add(b, f32x4.mul(x, a));
      c = f32x4.add(c, f32x4.mul(x, s));
      d = f32x4.add(d, f32x4.mul(x, c));
      x = v128.xor(x, flip);
    }
    acc = hsum(f32x4.add(f32x4.add(a, b), f32x4.add(c, d)));
  }
  return acc;
}
