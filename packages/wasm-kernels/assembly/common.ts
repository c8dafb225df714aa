// Shared helpers of the kernels: 16-bit weight widening, horizontal sums, activations.
// Weight dtype codes (match DTYPE_CODE in src/index.ts): 0 = f32, 1 = f16, 2 = bf16, then the quantized block
// types of quant.ts: 3 = q8_0, 4 = q4_0, 5 = q4_k.

export const F32: i32 = 0;
export const F16: i32 = 1;
export const BF16: i32 = 2;
export const Q8_0: i32 = 3;
export const Q4_0: i32 = 4;
export const Q4_K: i32 = 5;

/**
 * IEEE binary16 bits → f32, exact, with no arithmetic on subnormal floats (an f32 multiply with a subnormal operand
 * takes a ~100-cycle microcode assist on Intel cores): normal halves by rebiasing the exponent bits (+112), zero and
 * subnormal ones as mantissa·2^-24 converted from the integer.
 */
@inline export function halfToF32(h: u32): f32 {
  const e = h & 0x7c00;
  const mag = (h & 0x7fff) << 13;
  const f = e == 0 ? <f32>(h & 0x3ff) * 5.960464477539063e-8 : reinterpret<f32>(e == 0x7c00 ? mag | 0x7f800000 : mag + (112 << 23));
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

/** Element i of a weight row starting at p, widened to f32. */
@inline export function loadW(p: usize, i: i32, dtype: i32): f32 {
  if (dtype == F32) return load<f32>(p + (<usize>i << 2));
  const h = <u32>load<u16>(p + (<usize>i << 1));
  return dtype == F16 ? halfToF32(h) : reinterpret<f32>(h << 16);
}

/** Elements i … i + 3 of a weight row starting at p, widened to f32x4 (the dtype known only at run time). */
@inline export function loadW4(p: usize, i: i32, dtype: i32): v128 {
  if (dtype == F32) return v128.load(p + (<usize>i << 2));
  const q = p + (<usize>i << 1);
  return dtype == F16 ? half4(q) : bf16x4(q);
}

/**
 * Four f16 values, sign-extended into i32 lanes → f32x4, exact, as halfToF32 (no arithmetic on subnormal floats).
 * Infinities and NaNs are not handled: f16 matrices are checked for them when loaded (src/index.ts).
 */
@inline export function halfExact4(h: v128): v128 {
  const normal = i32x4.add(v128.and(i32x4.shl(h, 13), i32x4.splat(0x0fffe000)), i32x4.splat(112 << 23));
  const tiny = f32x4.mul(f32x4.convert_i32x4_s(v128.and(h, i32x4.splat(0x3ff))), f32x4.splat(5.960464477539063e-8));
  const zeroExp = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0));
  return v128.or(v128.bitselect(tiny, normal, zeroExp), v128.and(i32x4.shl(h, 16), i32x4.splat(0x80000000)));
}

/** Four consecutive f16 values at p → f32x4. */
@inline export function half4(p: usize): v128 {
  return halfExact4(v128.load16x4_s(p));
}

/**
 * The high halves of v's four 32-bit lanes (f16 values 1, 3, 5, 7 of 8) as w·2^-112 in 2 operations: shifted so
 * that the sign lands in bit 31 (and 30..28) and exponent | mantissa in bits 27..13, then bits 30..28 and 12..0
 * cleared. Exact, but a subnormal half gives a subnormal f32 (slow to multiply: see halfToF32).
 */
@inline export function halvesOdd(v: v128): v128 {
  return v128.and(i32x4.shr_s(v, 3), i32x4.splat(0x8fffe000));
}

/** The low halves of v's four 32-bit lanes (f16 values 0, 2, 4, 6 of 8) as w·2^-112, as halvesOdd. */
@inline export function halvesEven(v: v128): v128 {
  return halvesOdd(i32x4.shl(v, 16));
}

/** acc + a·b: one fused instruction in the relaxed-SIMD builds (rounded once, where x86-64 and Arm have FMA). */
@inline export function fma(acc: v128, a: v128, b: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? f32x4.relaxed_madd(a, b, acc) : f32x4.add(acc, f32x4.mul(a, b));
}

/** 2^-112: halvesEven/Odd's scale. */
export const HALF_SCALE: f32 = 1.925929944387236e-34;

/** Four consecutive bf16 values at p → f32x4. */
@inline export function bf16x4(p: usize): v128 {
  return i32x4.shl(v128.load16x4_u(p), 16);
}

@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline export function silu(x: f32): f32 {
  return x / (1 + Mathf.exp(-x));
}

/** torch's softplus (threshold 20). */
@inline export function softplus(x: f32): f32 {
  return x > 20 ? x : <f32>Math.log1p(Math.exp(<f64>x));
}

/** Activation codes (match src/backend.ts): 0 silu, 1 relu, 2 identity. */
@inline export function activate(x: f32, act: i32): f32 {
  if (act == 0) return silu(x);
  if (act == 1) return x > 0 ? x : 0;
  return x;
}

/** Σ a[i]·b[i] over n f32. */
export function dotF32(a: usize, b: usize, n: i32): f32 {
  let acc: f32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let v = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) v = f32x4.add(v, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
    acc = hsum(v);
  }
  for (; i < n; i++) acc += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return acc;
}

/** dt of one head: softplus(raw + bias) clamped to [lo, hi]. */
@inline export function stepSize(raw: f32, bias: f32, lo: f32, hi: f32): f32 {
  const dt = softplus(raw + bias);
  return dt < lo ? lo : dt > hi ? hi : dt;
}

/**
 * exp of four lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by Cephes' degree-6 polynomial, 2^n added to the
 * exponent bits. Relative error ~1e-7; inputs clamped to [-87.3, 88] (results stay finite and normal).
 */
@inline export function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.3)), f32x4.splat(88));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  return i32x4.add(p, i32x4.shl(i32x4.trunc_sat_f32x4_s(n), 23));
}

@inline export function silu4(x: v128): v128 {
  return f32x4.div(x, f32x4.add(f32x4.splat(1), exp4(f32x4.neg(x))));
}

/** `activate` over four lanes. */
@inline export function activate4(v: v128, act: i32): v128 {
  return act == 0 ? silu4(v) : act == 1 ? f32x4.max(v, f32x4.splat(0)) : v;
}

/** The activation (codes as `activate`) in place over n floats at p. */
export function activateRow(p: usize, n: i32, act: i32): void {
  if (act == 2) return;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const q = p + (<usize>i << 2);
      v128.store(q, activate4(v128.load(q), act));
    }
  }
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    store<f32>(q, activate(load<f32>(q), act));
  }
}
