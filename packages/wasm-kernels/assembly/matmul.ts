// out[r, o] = Σ_i x[r, i]·w[o, i] + bias[o]. out [R, O] f32, x [R, I] f32, w [O, I] f32 | f16 | bf16 | q8_0 |
// q4_0 | q4_k, bias [O] f32 or 0 (none).
// Prefill (R ≥ packRows): panels of 8 outputs × KC inputs are packed i-major into scratch ([KC, 8] f32, widened or
// dequantized once per panel), then tiles of 4 rows × 8 outputs broadcast x[r, i] against the panel's two vectors
// per i (8 accumulators: V8 keeps them in xmm registers). Decode and short prefill: tiles of 4 outputs × 2 rows
// share their loads, weights widened in registers (quantized rows read block by block, quant.ts, or 4 rows
// dequantized into scratch); f16 w by 8 halves a load against x permuted and scaled once per call (halved); f32 w
// at one row of x (decode) row by row, a cache line of w an iteration (rowByRow).
import { BF16, bf16x4, F16, F32, fma, half4, halfExact4, HALF_SCALE, halvesEven, halvesOdd, hsum, loadW, Q8_0 } from "./common";
import { dequantizeRow, dotQuant, rowBytes } from "./quant";

/**
 * Rows from which the packed path pays for its packing: 16-bit w is then widened once per panel instead of once
 * per pair of rows; f32 and quantized w gain only with more rows (panel in L1, x block in L2).
 */
@inline function packRows(dtype: i32): i32 {
  return dtype == F16 || dtype == BF16 ? 8 : 32;
}

/** Inputs per panel: a panel (16 KiB) stays in L1 and x[R, KC] in L2 while the panels of a block run past it. */
const KC = 512;

/**
 * Scratch bytes per thread: packed, the panel [KC, 8] f32, 8 zeros, then 8 dequantized rows [8, KC] f32 for
 * quantized w; quantized with fewer rows, 4 dequantized rows [4, I] f32; f16 with fewer rows, x permuted and
 * scaled, [R < 8, I] f32.
 */
export function scratchBytes(inDim: i32): usize {
  return max<usize>(2 * KC * 32 + 32, <usize>inDim << 5);
}

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
    for (; i + 4 <= n; i += 4) a = fma(a, v128.load(x + (<usize>i << 2)), w4<W>(w + <usize>i * wb));
    acc = hsum(a);
  }
  for (; i < n; i++) acc += load<f32>(x + (<usize>i << 2)) * loadW(w, i, dtype);
  return acc;
}

/**
 * Computes the outputs of `part` (of `parts` threads): an equal share of the columns, in multiples of 8.
 * `map`: an f16 w's subnormal map (halfMap), or 0 (none: subnormal halves are multiplied as they come);
 * `scratch`: scratchBytes(I) per thread.
 */
export function matmul(out: usize, x: usize, w: usize, bias: usize, rows: i32, outDim: i32, inDim: i32, dtype: i32, map: usize, scratch: usize, part: i32, parts: i32): void {
  const share = ((outDim + 8 * parts - 1) / (8 * parts)) * 8;
  let o0 = min(outDim, part * share);
  const o1 = min(outDim, o0 + share);
  scratch += <usize>part * scratchBytes(inDim);
  if (ASC_FEATURE_SIMD && rows >= packRows(dtype)) o0 = packed(out, x, w, bias, rows, outDim, inDim, dtype, o0, o1, scratch);
  if (dtype >= Q8_0) quantized(out, x, w, bias, rows, outDim, inDim, dtype, o0, o1, scratch);
  else if (dtype == F32) {
    if (ASC_FEATURE_SIMD && rows == 1) rowByRow(out, x, w, bias, inDim, o0, o1);
    else tiled<f32>(out, x, w, bias, rows, outDim, inDim, o0, o1);
  }
  else if (dtype == F16) {
    if (!(ASC_FEATURE_SIMD && rows < packRows(F16) && halved(out, x, w, map, bias, rows, outDim, inDim, o0, o1, scratch))) tiled<u16>(out, x, w, bias, rows, outDim, inDim, o0, o1);
  }
  else tiled<i16>(out, x, w, bias, rows, outDim, inDim, o0, o1);
}

/**
 * Outputs o0 … o0 + 8k (the whole panels of o0 … o1 − 1) for every row, block by block of KC inputs: each panel
 * block is packed into scratch, then every 4 rows of x run past it. Returns the first output left (SIMD only).
 */
function packed(out: usize, x: usize, w: usize, bias: usize, rows: i32, outDim: i32, inDim: i32, dtype: i32, o0: i32, o1: i32, scratch: usize): i32 {
  const o8 = o0 + ((o1 - o0) & ~7);
  const rowW: usize = dtype >= Q8_0 ? rowBytes(dtype, inDim) : <usize>inDim << (dtype == F32 ? 2 : 1);
  const rowX: usize = <usize>inDim << 2;
  const rowY: usize = <usize>outDim << 2;
  const zeros = scratch + KC * 32; // the start of the sums without bias
  v128.store(zeros, f32x4.splat(0));
  v128.store(zeros, f32x4.splat(0), 16);
  const wide = zeros + 32; // quantized: 8 rows dequantized, [8, n] f32
  for (let i0 = 0; i0 < inDim; i0 += KC) {
    const n = min(KC, inDim - i0);
    for (let o = o0; o < o8; o += 8) {
      const wo = w + <usize>o * rowW;
      if (dtype == F32) pack<f32>(scratch, wo, rowW, i0, n);
      else if (dtype == F16) pack<u16>(scratch, wo, rowW, i0, n);
      else if (dtype == BF16) pack<i16>(scratch, wo, rowW, i0, n);
      else {
        const at = rowBytes(dtype, i0);
        for (let k = 0; k < 8; k++) dequantizeRow(wide + <usize>(k * n) * 4, wo + <usize>k * rowW + at, n, dtype);
        pack<f32>(scratch, wide, <usize>n << 2, 0, n);
      }
      const y = out + (<usize>o << 2);
      const b: usize = i0 > 0 ? 0 : bias ? bias + (<usize>o << 2) : zeros;
      for (let r = 0; r < rows; r += 4) tile8(y, x + (<usize>i0 << 2), scratch, b, rows, rowX, rowY, r, n);
    }
  }
  return o8;
}

/**
 * panel[i, j] = w[j, i0 + i] widened to f32, for the 8 rows j at w (stride rowW) and i < n: rows 0…3 fill lanes
 * 0…3 of each i, rows 4…7 lanes 4…7 (4×4 blocks transposed by shuffles).
 */
function pack<W>(panel: usize, w: usize, rowW: usize, i0: i32, n: i32): void {
  const wb: usize = sizeof<W>();
  const n4 = n & ~3;
  for (let h = 0; h < 2; h++) {
    const w0 = w + <usize>(4 * h) * rowW + <usize>i0 * wb;
    for (let i = 0; i < n4; i += 4) {
      const p = w0 + <usize>i * wb;
      const a = w4<W>(p), b = w4<W>(p + rowW), c = w4<W>(p + 2 * rowW), d = w4<W>(p + 3 * rowW);
      const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5), ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
      const cd0 = i32x4.shuffle(c, d, 0, 4, 1, 5), cd1 = i32x4.shuffle(c, d, 2, 6, 3, 7);
      const q = panel + (<usize>i << 5) + (<usize>h << 4);
      v128.store(q, i32x4.shuffle(ab0, cd0, 0, 1, 4, 5));
      v128.store(q, i32x4.shuffle(ab0, cd0, 2, 3, 6, 7), 32);
      v128.store(q, i32x4.shuffle(ab1, cd1, 0, 1, 4, 5), 64);
      v128.store(q, i32x4.shuffle(ab1, cd1, 2, 3, 6, 7), 96);
    }
  }
  for (let i = n4; i < n; i++) {
    for (let j = 0; j < 8; j++) store<f32>(panel + (<usize>i << 5) + (<usize>j << 2), loadW(w + <usize>j * rowW, i0 + i, code<W>()));
  }
}

/** Start of a row's 4 sums at y: the partial sums there (b = 0) or the 4 values at b (bias or zeros). */
@inline function start(y: usize, b: usize): v128 {
  return v128.load(b ? b : y);
}

/**
 * Rows r … r + 3 × the panel's 8 outputs (y = &out[0, o], x = &x[0, i0]): out += Σ_{i<n} x[row, i]·panel[i, :],
 * starting as `start` says. Rows past the last are clamped onto it: that row's sums are computed and stored twice.
 */
function tile8(y: usize, x: usize, panel: usize, b: usize, rows: i32, rowX: usize, rowY: usize, r: i32, n: i32): void {
  const r1 = <usize>min(r + 1, rows - 1), r2 = <usize>min(r + 2, rows - 1), r3 = <usize>min(r + 3, rows - 1);
  const y0 = y + <usize>r * rowY, y1 = y + r1 * rowY, y2 = y + r2 * rowY, y3 = y + r3 * rowY;
  const b4 = b ? b + 16 : 0; // the start of outputs 4…7
  let a00 = start(y0, b), a01 = start(y0 + 16, b4), a10 = start(y1, b), a11 = start(y1 + 16, b4);
  let a20 = start(y2, b), a21 = start(y2 + 16, b4), a30 = start(y3, b), a31 = start(y3 + 16, b4);
  let x0 = x + <usize>r * rowX, x1 = x + r1 * rowX, x2 = x + r2 * rowX, x3 = x + r3 * rowX;
  for (let p = panel, end = panel + (<usize>n << 5); p < end; p += 32) {
    const w0 = v128.load(p), w1 = v128.load(p, 16);
    let s = v128.load32_splat(x0);
    a00 = fma(a00, s, w0); a01 = fma(a01, s, w1);
    s = v128.load32_splat(x1);
    a10 = fma(a10, s, w0); a11 = fma(a11, s, w1);
    s = v128.load32_splat(x2);
    a20 = fma(a20, s, w0); a21 = fma(a21, s, w1);
    s = v128.load32_splat(x3);
    a30 = fma(a30, s, w0); a31 = fma(a31, s, w1);
    x0 += 4; x1 += 4; x2 += 4; x3 += 4;
  }
  v128.store(y0, a00); v128.store(y0, a01, 16); v128.store(y1, a10); v128.store(y1, a11, 16);
  v128.store(y2, a20); v128.store(y2, a21, 16); v128.store(y3, a30); v128.store(y3, a31, 16);
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

/**
 * One row of x (decode), f32 w: outputs o0 … o1 − 1 one at a time, each weight row read as one stream, a cache
 * line (16 values) an iteration into 4 accumulators. On an AMD EPYC (Zen 4) VM this streamed 22–26 GB/s, against
 * 13–15 GB/s for tile4's 4 rows read side by side (SIMD only).
 */
function rowByRow(out: usize, x: usize, w: usize, bias: usize, inDim: i32, o0: i32, o1: i32): void {
  const rowW: usize = <usize>inDim << 2;
  const i16 = inDim & ~15;
  for (let o = o0; o < o1; o++) {
    const wo = w + <usize>o * rowW;
    let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
    for (let i = 0; i < i16; i += 16) {
      const q = <usize>i << 2;
      a = fma(a, v128.load(x + q), v128.load(wo + q));
      b = fma(b, v128.load(x + q, 16), v128.load(wo + q, 16));
      c = fma(c, v128.load(x + q, 32), v128.load(wo + q, 32));
      d = fma(d, v128.load(x + q, 48), v128.load(wo + q, 48));
    }
    store1(out, x, wo, i16, inDim, F32, bias, o, hsum(f32x4.add(f32x4.add(a, b), f32x4.add(c, d))));
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
      a00 = fma(a00, u, p); a10 = fma(a10, v, p);
      p = w4<W>(w1 + off);
      a01 = fma(a01, u, p); a11 = fma(a11, v, p);
      p = w4<W>(w2 + off);
      a02 = fma(a02, u, p); a12 = fma(a12, v, p);
      p = w4<W>(w3 + off);
      a03 = fma(a03, u, p); a13 = fma(a13, v, p);
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
      a0 = fma(a0, u, w4<W>(w0 + off));
      a1 = fma(a1, u, w4<W>(w1 + off));
      a2 = fma(a2, u, w4<W>(w2 + off));
      a3 = fma(a3, u, w4<W>(w3 + off));
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

/** store4 for one output o (weight row at w): its scalar tail from `from`, its bias, stored at out[o]. */
@inline function store1(out: usize, x: usize, w: usize, from: i32, inDim: i32, dtype: i32, bias: usize, o: i32, sum: f32): void {
  for (let i = from; i < inDim; i++) sum += load<f32>(x + (<usize>i << 2)) * loadW(w, i, dtype);
  store<f32>(out + (<usize>o << 2), bias ? sum + load<f32>(bias + (<usize>o << 2)) : sum);
}

/** 2^56: x·2^56 times w·2^-112 (halvesEven/Odd) is x·w·2^-56, normal down to |x·w| = 2^-70. */
const X_SCALE: f32 = 7.205759403792794e16;
/** 2^72: from there on x·2^56 overflows. */
const X_LIMIT: f32 = 4.722366482869645e21;

/** Words of a tile's row in the subnormal map of an f16 matrix: a bit per block of 8 inputs. */
@inline function mapWords(inDim: i32): i32 {
  return ((inDim >> 3) + 31) >> 5;
}

/** Bytes of the subnormal map of an f16 [O, I] matrix: a bit per 4 rows × 8 inputs (whole tiles and blocks). */
export function halfMapBytes(outDim: i32, inDim: i32): usize {
  return <usize>(outDim >> 2) * <usize>mapWords(inDim) << 2;
}

/** Fills the subnormal map of the f16 matrix w [O, I] (halfMapBytes at map): a bit set where a 4 × 8 block holds one. */
export function halfMap(map: usize, w: usize, outDim: i32, inDim: i32): void {
  const words = mapWords(inDim);
  const rowW: usize = <usize>inDim << 1;
  memory.fill(map, 0, halfMapBytes(outDim, inDim));
  if (ASC_FEATURE_SIMD) for (let o = 0; o + 4 <= outDim; o += 4) {
    const m = map + (<usize>((o >> 2) * words) << 2);
    for (let b = 0; b < inDim >> 3; b++) {
      let sub = i16x8.splat(0); // lanes with exponent 0 and a mantissa
      for (let k = 0; k < 4; k++) {
        const v = v128.and(v128.load(w + <usize>(o + k) * rowW + (<usize>b << 4)), i16x8.splat(0x7fff));
        sub = v128.or(sub, v128.andnot(i16x8.eq(v128.and(v, i16x8.splat(0x7c00)), i16x8.splat(0)), i16x8.eq(v, i16x8.splat(0))));
      }
      if (v128.any_true(sub)) store<u32>(m + (<usize>(b >> 5) << 2), load<u32>(m + (<usize>(b >> 5) << 2)) | (1 << (b & 31)));
    }
  }
}

/** max |v| over n floats at p (NaN if one is). */
function maxAbs(p: usize, n: i32): f32 {
  let i = 0;
  let v = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) v = f32x4.max(v, f32x4.abs(v128.load(p + (<usize>i << 2))));
  let m = max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  for (; i < n; i++) m = max(m, abs(load<f32>(p + (<usize>i << 2))));
  return m;
}

/**
 * f16 w, fewer rows than packRows (SIMD only): each block of 8 inputs of x is stored in scratch as x·2^56 in the
 * order 0 2 4 6 1 3 5 7, so that one load of 8 halves widens in place (halvesEven/Odd, no rebias multiply) against
 * two vectors of x; the sums are scaled back by 2^-56·2^112 = 2^56 (every step exact while products stay normal).
 * Blocks that the map (halfMap, if there is one) marks as holding a subnormal half are widened exactly instead
 * (halfExact4): as f32 their halves would be subnormal, which some CPUs multiply slowly. Without a map, one row of x
 * (decode) goes row by row (halvedRow).
 * Returns false, computing nothing, when max|x| ≥ 2^72 (x·2^56 would overflow; then tile4 widens exactly).
 */
function halved(out: usize, x: usize, w: usize, map: usize, bias: usize, rows: i32, outDim: i32, inDim: i32, o0: i32, o1: i32, scratch: usize): bool {
  if (!(maxAbs(x, rows * inDim) < X_LIMIT)) return false;
  const n8 = inDim & ~7;
  const rowX: usize = <usize>inDim << 2;
  const scale = f32x4.splat(X_SCALE);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowX, xs = scratch + <usize>r * rowX;
    for (let i = 0; i < n8; i += 8) {
      const q = <usize>i << 2;
      const a = v128.load(xr + q), b = v128.load(xr + q, 16);
      v128.store(xs + q, f32x4.mul(i32x4.shuffle(a, b, 0, 2, 4, 6), scale));
      v128.store(xs + q, f32x4.mul(i32x4.shuffle(a, b, 1, 3, 5, 7), scale), 16);
    }
  }
  const rowW: usize = <usize>inDim << 1;
  const rowY: usize = <usize>outDim << 2;
  const words: usize = <usize>mapWords(inDim) << 2;
  let o = o0;
  if (rows == 1 && !map) for (; o < o1; o++) halvedRow(out, x, scratch, w + <usize>o * rowW, n8, inDim, bias, o);
  for (; o + 4 <= o1; o += 4) {
    const w0 = w + <usize>o * rowW;
    for (let r = 0; r < rows; r++) {
      const y = out + <usize>r * rowY + (<usize>o << 2);
      halved4(y, x + <usize>r * rowX, scratch + <usize>r * rowX, w0, rowW, map ? map + <usize>(o >> 2) * words : 0, n8, inDim, bias, o, o + 8 <= outDim ? 4 * rowW : 0);
    }
  }
  tiled<u16>(out, x, w, bias, rows, outDim, inDim, o, o1); // the last outputs (fewer than 4)
  return true;
}

/** acc + the 8 products of v's halves (halvesEven/Odd) with x·2^56 (xe, xo), scaled by 2^-56. */
@inline function dot8(acc: v128, v: v128, xe: v128, xo: v128): v128 {
  return fma(fma(acc, halvesEven(v), xe), halvesOdd(v), xo);
}

/** dot8, the halves widened exactly (a block with subnormal halves): w·(x·2^56) then ·2^-112, as exact. */
@inline function dot8Exact(acc: v128, v: v128, xe: v128, xo: v128): v128 {
  const even = halfExact4(i32x4.shr_s(i32x4.shl(v, 16), 16)), odd = halfExact4(i32x4.shr_s(v, 16));
  return f32x4.add(acc, f32x4.mul(f32x4.add(f32x4.mul(even, xe), f32x4.mul(odd, xo)), f32x4.splat(HALF_SCALE)));
}

/**
 * One row's outputs o … o + 3 (weight rows consecutive from w0, map words at map, or 0) from x and its copy xs. Each pass
 * also loads a byte of the next tile (at w0 + ahead; ahead = 0: this one), a cache line apart, so that it is on its
 * way from memory while this one computes (WebAssembly has no prefetch instruction; measured: f16 [3352, 768] ~10 %
 * faster from memory; f32 is slower with it, its loop being bound by memory already).
 */
function halved4(y: usize, x: usize, xs: usize, w0: usize, rowW: usize, map: usize, n8: i32, inDim: i32, bias: usize, o: i32, ahead: usize): void {
  const next = w0 + ahead;
  const w1 = w0 + rowW;
  const w2 = w1 + rowW;
  const w3 = w2 + rowW;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let b = 0; b < n8 >> 3; b++) {
    const i: usize = <usize>b << 4;
    const xe = v128.load(xs + (i << 1)), xo = v128.load(xs + (i << 1), 16);
    load<u8>(next + (i << 2));
    if (map && (load<u32>(map + (<usize>(b >> 5) << 2)) >>> (b & 31)) & 1) {
      a0 = dot8Exact(a0, v128.load(w0 + i), xe, xo);
      a1 = dot8Exact(a1, v128.load(w1 + i), xe, xo);
      a2 = dot8Exact(a2, v128.load(w2 + i), xe, xo);
      a3 = dot8Exact(a3, v128.load(w3 + i), xe, xo);
    } else {
      a0 = dot8(a0, v128.load(w0 + i), xe, xo);
      a1 = dot8(a1, v128.load(w1 + i), xe, xo);
      a2 = dot8(a2, v128.load(w2 + i), xe, xo);
      a3 = dot8(a3, v128.load(w3 + i), xe, xo);
    }
  }
  const back: f32 = 1 / (HALF_SCALE * X_SCALE);
  store4(y, x, w0, rowW, n8, inDim, F16, bias, o, hsum(a0) * back, hsum(a1) * back, hsum(a2) * back, hsum(a3) * back);
}

/**
 * halved4 for one row of x (decode) without a map, output o alone (weight row at wo): 32 halves (a cache line) an
 * iteration into 4 accumulators, as rowByRow. On an AMD EPYC (Zen 4) VM: 130m f16 decode 66 tok/s against 42 for
 * halved4 with its map.
 */
function halvedRow(out: usize, x: usize, xs: usize, wo: usize, n8: i32, inDim: i32, bias: usize, o: i32): void {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  const blocks = n8 >> 3;
  let k = 0;
  for (; k + 4 <= blocks; k += 4) {
    const q: usize = <usize>k << 4, p: usize = <usize>k << 5;
    a = dot8(a, v128.load(wo + q), v128.load(xs + p), v128.load(xs + p, 16));
    b = dot8(b, v128.load(wo + q, 16), v128.load(xs + p, 32), v128.load(xs + p, 48));
    c = dot8(c, v128.load(wo + q, 32), v128.load(xs + p, 64), v128.load(xs + p, 80));
    d = dot8(d, v128.load(wo + q, 48), v128.load(xs + p, 96), v128.load(xs + p, 112));
  }
  for (; k < blocks; k++) a = dot8(a, v128.load(wo + (<usize>k << 4)), v128.load(xs + (<usize>k << 5)), v128.load(xs + (<usize>k << 5), 16));
  store1(out, x, wo, n8, inDim, F16, bias, o, hsum(f32x4.add(f32x4.add(a, b), f32x4.add(c, d))) * (1 / (HALF_SCALE * X_SCALE)));
}

/**
 * Quantized w, outputs o0 … o1 − 1: with 4 or more rows each group of 4 weight rows is dequantized into scratch
 * ([4, I] f32, in cache) and tiled as f32; otherwise (decode) every dot product reads the blocks directly.
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
