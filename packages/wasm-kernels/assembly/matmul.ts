// out[r, o] = Σ_i x[r, i]·w[o, i] + bias[o]. out [R, O] f32, x [R, I] f32, w [O, I] f32 | f16 | bf16 | q8_0 |
// q4_0 | q4_k, bias [O] f32 or 0 (none). Tiles of 4 outputs × 2 rows share their loads; the 4 weight rows stay in
// cache while every x row streams past them. Weights are widened to f32 in registers, never copied; quantized
// rows are read block by block (quant.ts) in decode, or dequantized 4 rows at a time into scratch for prefill.
import { BF16, bf16x4, F16, F32, half4, hsum, loadW, Q8_0 } from "./common";
import { dequantizeRow, dotQuant, rowBytes } from "./quant";

// The weight type W is a compile-time marker, so that each dtype gets its own loop without branches:
// f32 → f32, u16 → f16, i16 → bf16.
@inline function w4<W>(p: usize): v128 {
  if (isFloat<W>()) return v128.load(p);
  return isSigned<W>() ? bf16x4(p) : half4(p);
}

@inline function code<W>(): i32 {
  return isFloat<W>() ? F32 : isSigned<W>() ? BF16 : F16;
}

/** Σ_i x[i]·w[i] over one row pair, the tail of I scalar. */
function dot<W>(x: usize, w: usize, n: i32): f32 {
  const dtype = code<W>();
  const wb: usize = sizeof<W>();
  let acc: f32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(x + (<usize>i << 2)), w4<W>(w + <usize>i * wb)));
    acc = hsum(a);
  }
  for (; i < n; i++) acc += load<f32>(x + (<usize>i << 2)) * loadW(w, i, dtype);
  return acc;
}

/**
 * Computes the outputs of `part` (of `parts` threads): an equal share of the columns, in multiples of 4.
 * `scratch`: 16·I bytes per thread for quantized w (0 otherwise).
 */
export function matmul(out: usize, x: usize, w: usize, bias: usize, rows: i32, outDim: i32, inDim: i32, dtype: i32, scratch: usize, part: i32, parts: i32): void {
  const share = ((outDim + 4 * parts - 1) / (4 * parts)) * 4;
  const o0 = min(outDim, part * share);
  const o1 = min(outDim, o0 + share);
  if (dtype >= Q8_0) quantized(out, x, w, bias, rows, outDim, inDim, dtype, o0, o1, scratch + <usize>part * (<usize>inDim << 4));
  else if (dtype == F32) tiled<f32>(out, x, w, bias, rows, outDim, inDim, o0, o1);
  else if (dtype == F16) tiled<u16>(out, x, w, bias, rows, outDim, inDim, o0, o1);
  else tiled<i16>(out, x, w, bias, rows, outDim, inDim, o0, o1);
}

function tiled<W>(out: usize, x: usize, w: usize, bias: usize, rows: i32, outDim: i32, inDim: i32, o0: i32, o1: i32): void {
  const rowW: usize = <usize>inDim * sizeof<W>();
  const o4 = ASC_FEATURE_SIMD ? o0 + ((o1 - o0) & ~3) : o0;
  if (ASC_FEATURE_SIMD) for (let o = o0; o < o4; o += 4) tile4<W>(out, x, w + <usize>o * rowW, bias, rows, outDim, inDim, o);
  // outputs not covered by the tiles (all of them in the scalar build)
  const rowX: usize = <usize>inDim << 2;
  const rowY: usize = <usize>outDim << 2;
  for (let o = o4; o < o1; o++) {
    const wo = w + <usize>o * rowW;
    const b: f32 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
    for (let r = 0; r < rows; r++) store<f32>(out + <usize>r * rowY + (<usize>o << 2), dot<W>(x + <usize>r * rowX, wo, inDim) + b);
  }
}

/** Outputs o … o + 3 (weight rows consecutive from w0) for every row of x, in tiles of 2 rows (SIMD only). */
function tile4<W>(out: usize, x: usize, w0: usize, bias: usize, rows: i32, outDim: i32, inDim: i32, o: i32): void {
  const dtype = code<W>();
  const wb: usize = sizeof<W>();
  const rowW: usize = <usize>inDim * wb;
  const rowX: usize = <usize>inDim << 2;
  const rowY: usize = <usize>outDim << 2;
  const r2 = rows & ~1;
  const i4 = inDim & ~3;
  const w1 = w0 + rowW;
  const w2 = w1 + rowW;
  const w3 = w2 + rowW;
  for (let r = 0; r < r2; r += 2) {
    const x0 = x + <usize>r * rowX;
    const x1 = x0 + rowX;
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
    let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
    for (let i = 0; i < i4; i += 4) {
      const o4b = <usize>i << 2;
      const u = v128.load(x0 + o4b);
      const v = v128.load(x1 + o4b);
      const off = <usize>i * wb;
      let p = w4<W>(w0 + off);
      a00 = f32x4.add(a00, f32x4.mul(u, p)); a10 = f32x4.add(a10, f32x4.mul(v, p));
      p = w4<W>(w1 + off);
      a01 = f32x4.add(a01, f32x4.mul(u, p)); a11 = f32x4.add(a11, f32x4.mul(v, p));
      p = w4<W>(w2 + off);
      a02 = f32x4.add(a02, f32x4.mul(u, p)); a12 = f32x4.add(a12, f32x4.mul(v, p));
      p = w4<W>(w3 + off);
      a03 = f32x4.add(a03, f32x4.mul(u, p)); a13 = f32x4.add(a13, f32x4.mul(v, p));
    }
    store4(out + <usize>r * rowY + (<usize>o << 2), x0, w0, rowW, i4, inDim, dtype, bias, o, hsum(a00), hsum(a01), hsum(a02), hsum(a03));
    store4(out + <usize>(r + 1) * rowY + (<usize>o << 2), x1, w0, rowW, i4, inDim, dtype, bias, o, hsum(a10), hsum(a11), hsum(a12), hsum(a13));
  }
  for (let r = r2; r < rows; r++) {
    const x0 = x + <usize>r * rowX;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let i = 0; i < i4; i += 4) {
      const u = v128.load(x0 + (<usize>i << 2));
      const off = <usize>i * wb;
      a0 = f32x4.add(a0, f32x4.mul(u, w4<W>(w0 + off)));
      a1 = f32x4.add(a1, f32x4.mul(u, w4<W>(w1 + off)));
      a2 = f32x4.add(a2, f32x4.mul(u, w4<W>(w2 + off)));
      a3 = f32x4.add(a3, f32x4.mul(u, w4<W>(w3 + off)));
    }
    store4(out + <usize>r * rowY + (<usize>o << 2), x0, w0, rowW, i4, inDim, dtype, bias, o, hsum(a0), hsum(a1), hsum(a2), hsum(a3));
  }
}

/** Adds the scalar tail i4..I and the bias to 4 tile sums and stores them at y. */
@inline function store4(y: usize, x: usize, w0: usize, rowW: usize, i4: i32, inDim: i32, dtype: i32, bias: usize, o: i32, s0: f32, s1: f32, s2: f32, s3: f32): void {
  for (let i = i4; i < inDim; i++) {
    const xi = load<f32>(x + (<usize>i << 2));
    s0 += xi * loadW(w0, i, dtype);
    s1 += xi * loadW(w0 + rowW, i, dtype);
    s2 += xi * loadW(w0 + 2 * rowW, i, dtype);
    s3 += xi * loadW(w0 + 3 * rowW, i, dtype);
  }
  if (bias) {
    const b = bias + (<usize>o << 2);
    s0 += load<f32>(b); s1 += load<f32>(b, 4); s2 += load<f32>(b, 8); s3 += load<f32>(b, 12);
  }
  store<f32>(y, s0); store<f32>(y, s1, 4); store<f32>(y, s2, 8); store<f32>(y, s3, 12);
}

/**
 * Quantized w: with 4 or more rows (prefill) each group of 4 weight rows is dequantized into this thread's
 * scratch ([4, I] f32, in cache) and tiled as f32; otherwise (decode) every dot product reads the blocks directly.
 */
function quantized(out: usize, x: usize, w: usize, bias: usize, rows: i32, outDim: i32, inDim: i32, dtype: i32, o0: i32, o1: i32, scratch: usize): void {
  const rowW = rowBytes(dtype, inDim);
  const rowX: usize = <usize>inDim << 2;
  const rowY: usize = <usize>outDim << 2;
  let o = o0;
  if (ASC_FEATURE_SIMD && rows >= 4) {
    for (; o + 4 <= o1; o += 4) {
      for (let k = 0; k < 4; k++) dequantizeRow(scratch + <usize>k * rowX, w + <usize>(o + k) * rowW, inDim, dtype);
      tile4<f32>(out, x, scratch, bias, rows, outDim, inDim, o);
    }
  }
  for (; o < o1; o++) {
    const wo = w + <usize>o * rowW;
    const b: f32 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
    for (let r = 0; r < rows; r++) store<f32>(out + <usize>r * rowY + (<usize>o << 2), dotQuant(wo, x + <usize>r * rowX, inDim, dtype) + b);
  }
}
