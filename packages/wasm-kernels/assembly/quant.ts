// Quantized weight rows, read in place (layouts as @mamba2/core's quant.ts, llama.cpp's blocks):
// q8_0: 32 values in 34 bytes (f16 d, 32 × i8) → d·q; q4_0: 32 values in 18 bytes (f16 d, 16 bytes: value j in
// the low nibble of byte j, value j + 16 in its high nibble) → d·(q − 8); q4_k: 256 values in 144 bytes (f16 d,
// f16 dmin, 12 bytes of 6-bit (scale, min) pairs of 8 sub-blocks, 128 bytes of nibbles: 32 bytes per 64 values,
// low nibbles sub-block 2c, high nibbles 2c + 1) → d·scale·q − dmin·min.
import { halfToF32, hsum, Q4_0, Q4_K, Q8_0 } from "./common";

/** Values per block of a quantized dtype code. */
@inline export function blockValues(dtype: i32): i32 {
  return dtype == Q4_K ? 256 : 32;
}

/** Bytes of one row of n values. */
@inline export function rowBytes(dtype: i32, n: i32): usize {
  const b: usize = dtype == Q8_0 ? 34 : dtype == Q4_0 ? 18 : 144;
  return <usize>(n / blockValues(dtype)) * b;
}

@inline function half(p: usize): f32 {
  return halfToF32(<u32>load<u16>(p));
}

/** Scale (low 16 bits) and min (high 16 bits) of q4_k sub-block s, from the 12 scale bytes at p. */
@inline function scaleMin(p: usize, s: i32): u32 {
  if (s < 4) return (<u32>load<u8>(p + s) & 63) | ((<u32>load<u8>(p + s + 4) & 63) << 16);
  const sc = (<u32>load<u8>(p + s + 4) & 0xf) | ((<u32>load<u8>(p + s - 4) >> 6) << 4);
  const m = (<u32>load<u8>(p + s + 4) >> 4) | ((<u32>load<u8>(p + s) >> 6) << 4);
  return sc | (m << 16);
}

/** Value i of the quantized row at w. */
@inline export function quantValue(w: usize, i: i32, dtype: i32): f32 {
  if (dtype == Q8_0) {
    const p = w + <usize>(i >> 5) * 34;
    return half(p) * <f32>load<i8>(p + 2 + (i & 31));
  }
  if (dtype == Q4_0) {
    const p = w + <usize>(i >> 5) * 18;
    const j = i & 31;
    const b = <i32>load<u8>(p + 2 + (j & 15));
    return half(p) * <f32>((j < 16 ? b & 0xf : b >> 4) - 8);
  }
  const p = w + <usize>(i >> 8) * 144;
  const j = i & 255;
  const c = j >> 6;
  const hi = (j & 63) >= 32;
  const b = <u32>load<u8>(p + 16 + (c << 5) + (j & 31));
  const sm = scaleMin(p + 4, 2 * c + (hi ? 1 : 0));
  return half(p) * <f32>(sm & 0xffff) * <f32>(hi ? b >> 4 : b & 0xf) - half(p + 2) * <f32>(sm >> 16);
}

/** 8 signed 16-bit lanes (v) → f32 at out: v·scale − shift. */
@inline function put8(out: usize, v: v128, scale: v128, shift: v128): void {
  v128.store(out, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v)), scale), shift));
  v128.store(out, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v)), scale), shift), 16);
}

/** The n values (whole blocks) of a quantized row at w → f32 at out. */
export function dequantizeRow(out: usize, w: usize, n: i32, dtype: i32): void {
  if (!ASC_FEATURE_SIMD) {
    for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), quantValue(w, i, dtype));
    return;
  }
  const zero = f32x4.splat(0);
  const m = i16x8.splat(0xf);
  if (dtype == Q8_0) {
    for (let k = 0; k < n >> 5; k++) {
      const p = w + <usize>k * 34;
      const o = out + (<usize>k << 7);
      const d = f32x4.splat(half(p));
      const b0 = v128.load(p, 2);
      const b1 = v128.load(p, 18);
      put8(o, i16x8.extend_low_i8x16_s(b0), d, zero);
      put8(o + 32, i16x8.extend_high_i8x16_s(b0), d, zero);
      put8(o + 64, i16x8.extend_low_i8x16_s(b1), d, zero);
      put8(o + 96, i16x8.extend_high_i8x16_s(b1), d, zero);
    }
  } else if (dtype == Q4_0) {
    const eight = i16x8.splat(8);
    for (let k = 0; k < n >> 5; k++) {
      const p = w + <usize>k * 18;
      const o = out + (<usize>k << 7);
      const d = f32x4.splat(half(p));
      const b = v128.load(p, 2);
      const u0 = i16x8.extend_low_i8x16_u(b);
      const u1 = i16x8.extend_high_i8x16_u(b);
      put8(o, i16x8.sub(v128.and(u0, m), eight), d, zero);
      put8(o + 32, i16x8.sub(v128.and(u1, m), eight), d, zero);
      put8(o + 64, i16x8.sub(i16x8.shr_u(u0, 4), eight), d, zero);
      put8(o + 96, i16x8.sub(i16x8.shr_u(u1, 4), eight), d, zero);
    }
  } else {
    for (let k = 0; k < n >> 8; k++) {
      const p = w + <usize>k * 144;
      const d = half(p);
      const dmin = half(p + 2);
      for (let c = 0; c < 4; c++) {
        const q = p + 16 + (<usize>c << 5);
        const o = out + (<usize>((k << 8) + (c << 6)) << 2);
        const sa = scaleMin(p + 4, 2 * c);
        const sb = scaleMin(p + 4, 2 * c + 1);
        const scaleA = f32x4.splat(d * <f32>(sa & 0xffff)), shiftA = f32x4.splat(dmin * <f32>(sa >> 16));
        const scaleB = f32x4.splat(d * <f32>(sb & 0xffff)), shiftB = f32x4.splat(dmin * <f32>(sb >> 16));
        const b0 = v128.load(q);
        const b1 = v128.load(q, 16);
        const u0 = i16x8.extend_low_i8x16_u(b0), u1 = i16x8.extend_high_i8x16_u(b0);
        const u2 = i16x8.extend_low_i8x16_u(b1), u3 = i16x8.extend_high_i8x16_u(b1);
        put8(o, v128.and(u0, m), scaleA, shiftA);
        put8(o + 32, v128.and(u1, m), scaleA, shiftA);
        put8(o + 64, v128.and(u2, m), scaleA, shiftA);
        put8(o + 96, v128.and(u3, m), scaleA, shiftA);
        put8(o + 128, i16x8.shr_u(u0, 4), scaleB, shiftB);
        put8(o + 160, i16x8.shr_u(u1, 4), scaleB, shiftB);
        put8(o + 192, i16x8.shr_u(u2, 4), scaleB, shiftB);
        put8(o + 224, i16x8.shr_u(u3, 4), scaleB, shiftB);
      }
    }
  }
}

/** Σ of 8 signed 16-bit lanes (v) × 8 f32 at x, as four lanes of partial sums. */
@inline function dot8(v: v128, x: usize): v128 {
  const s = f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v)), v128.load(x));
  return f32x4.add(s, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v)), v128.load(x, 16)));
}

/** Σ of 16 signed bytes (b) × 16 f32 at x, as four lanes of partial sums. */
@inline function dot16(b: v128, x: usize): v128 {
  return f32x4.add(dot8(i16x8.extend_low_i8x16_s(b), x), dot8(i16x8.extend_high_i8x16_s(b), x + 32));
}

/**
 * Σ over the 32 nibbles of 16 bytes (b) × 32 f32 at x, each nibble minus `offset`: byte j's low nibble pairs with
 * x[j], its high nibble with x[j + 16]. Bytes are widened to 16 bits first (x86 has no 8-bit shift).
 */
@inline function dotNibbles(b: v128, x: usize, offset: v128): v128 {
  const u0 = i16x8.extend_low_i8x16_u(b);
  const u1 = i16x8.extend_high_i8x16_u(b);
  const m = i16x8.splat(0xf);
  const lo = f32x4.add(dot8(i16x8.sub(v128.and(u0, m), offset), x), dot8(i16x8.sub(v128.and(u1, m), offset), x + 32));
  const hi = f32x4.add(dot8(i16x8.sub(i16x8.shr_u(u0, 4), offset), x + 64), dot8(i16x8.sub(i16x8.shr_u(u1, 4), offset), x + 96));
  return f32x4.add(lo, hi);
}

/** Σ of 32 f32 at x, as four lanes. */
@inline function sum32(x: usize): v128 {
  const a = f32x4.add(f32x4.add(v128.load(x), v128.load(x, 16)), f32x4.add(v128.load(x, 32), v128.load(x, 48)));
  const b = f32x4.add(f32x4.add(v128.load(x, 64), v128.load(x, 80)), f32x4.add(v128.load(x, 96), v128.load(x, 112)));
  return f32x4.add(a, b);
}

/** Σ_i x[i]·w[i] over a quantized row w of n values (whole blocks) and f32 x. */
export function dotQuant(w: usize, x: usize, n: i32, dtype: i32): f32 {
  if (!ASC_FEATURE_SIMD) {
    let acc: f32 = 0;
    for (let i = 0; i < n; i++) acc += load<f32>(x + (<usize>i << 2)) * quantValue(w, i, dtype);
    return acc;
  }
  let acc = f32x4.splat(0);
  if (dtype == Q8_0) {
    for (let k = 0; k < n >> 5; k++) {
      const p = w + <usize>k * 34;
      const xk = x + (<usize>k << 7);
      const s = f32x4.add(dot16(v128.load(p, 2), xk), dot16(v128.load(p, 18), xk + 64));
      acc = f32x4.add(acc, f32x4.mul(s, f32x4.splat(half(p))));
    }
  } else if (dtype == Q4_0) {
    const eight = i16x8.splat(8);
    for (let k = 0; k < n >> 5; k++) {
      const p = w + <usize>k * 18;
      acc = f32x4.add(acc, f32x4.mul(dotNibbles(v128.load(p, 2), x + (<usize>k << 7), eight), f32x4.splat(half(p))));
    }
  } else {
    const m = i16x8.splat(0xf);
    for (let k = 0; k < n >> 8; k++) {
      const p = w + <usize>k * 144;
      const d = half(p);
      const dmin = half(p + 2);
      for (let c = 0; c < 4; c++) {
        const q = p + 16 + (<usize>c << 5);
        const xc = x + (<usize>((k << 8) + (c << 6)) << 2);
        const b0 = v128.load(q);
        const b1 = v128.load(q, 16);
        const u0 = i16x8.extend_low_i8x16_u(b0), u1 = i16x8.extend_high_i8x16_u(b0);
        const u2 = i16x8.extend_low_i8x16_u(b1), u3 = i16x8.extend_high_i8x16_u(b1);
        const qa = f32x4.add(f32x4.add(dot8(v128.and(u0, m), xc), dot8(v128.and(u1, m), xc + 32)), f32x4.add(dot8(v128.and(u2, m), xc + 64), dot8(v128.and(u3, m), xc + 96)));
        const qb = f32x4.add(f32x4.add(dot8(i16x8.shr_u(u0, 4), xc + 128), dot8(i16x8.shr_u(u1, 4), xc + 160)), f32x4.add(dot8(i16x8.shr_u(u2, 4), xc + 192), dot8(i16x8.shr_u(u3, 4), xc + 224)));
        const sa = scaleMin(p + 4, 2 * c);
        const sb = scaleMin(p + 4, 2 * c + 1);
        acc = f32x4.add(acc, f32x4.mul(qa, f32x4.splat(d * <f32>(sa & 0xffff))));
        acc = f32x4.add(acc, f32x4.mul(qb, f32x4.splat(d * <f32>(sb & 0xffff))));
        acc = f32x4.sub(acc, f32x4.mul(sum32(xc), f32x4.splat(dmin * <f32>(sa >> 16))));
        acc = f32x4.sub(acc, f32x4.mul(sum32(xc + 128), f32x4.splat(dmin * <f32>(sb >> 16))));
      }
    }
  }
  return hsum(acc);
}
