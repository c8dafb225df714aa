/**
 * Quantized weights as llama.cpp lays them out: each row of a matrix is a run of blocks, kept as blocks in memory
 * (backends read them directly; nothing is dequantized into a copy).
 *
 * - q8_0: 32 values in 34 bytes: f16 d, 32 × int8 q.                      value = d·q
 * - q4_0: 32 values in 18 bytes: f16 d, 16 bytes of nibbles; byte j holds value j (low nibble) and value
 *   j + 16 (high nibble).                                                  value = d·(q − 8)
 * - q4_k: 256 values in 144 bytes: f16 d, f16 dmin, 12 bytes of eight 6-bit (scale, min) pairs, 128 bytes of
 *   nibbles; each 64 values take 32 bytes: the low nibbles are sub-block 2c, the high nibbles sub-block 2c + 1.
 *                                                                          value = d·scale_s·q − dmin·min_s
 */
import type { DType } from "./backend.js";
import { fail } from "./errors.js";
import { floatToHalf, halfToFloat } from "./dtype.js";

export type QuantDType = "q8_0" | "q4_0" | "q4_k";

/** Values per block and bytes per block. */
export const QUANT_BLOCKS: Readonly<Record<QuantDType, { readonly values: number; readonly bytes: number }>> = {
  q8_0: { values: 32, bytes: 34 },
  q4_0: { values: 32, bytes: 18 },
  q4_k: { values: 256, bytes: 144 },
};

export const QUANT_DTYPES = Object.keys(QUANT_BLOCKS) as QuantDType[];

export function isQuantized(dtype: DType | string): dtype is QuantDType {
  return dtype in QUANT_BLOCKS;
}

/** Bytes a tensor of this shape and dtype takes; a quantized tensor's rows must be whole blocks. */
export function tensorBytes(shape: readonly number[], dtype: DType): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (!isQuantized(dtype)) return n * (dtype === "f32" || dtype === "i32" ? 4 : 2);
  const { values, bytes } = QUANT_BLOCKS[dtype];
  const row = shape[shape.length - 1] ?? 1;
  if (row % values !== 0) fail(`a ${dtype} tensor [${shape.join(", ")}] needs rows that are a multiple of ${values} values`);
  return (n / values) * bytes;
}

/** The (scale, min) pair of sub-block s (0..7) of a q4_k block, from its 12 scale bytes at `at`. */
export function q4kScaleMin(b: Uint8Array, at: number, s: number): [number, number] {
  if (s < 4) return [b[at + s] & 63, b[at + s + 4] & 63];
  return [(b[at + s + 4] & 0xf) | ((b[at + s - 4] >> 6) << 4), (b[at + s + 4] >> 4) | ((b[at + s] >> 6) << 4)];
}

const half = (b: Uint8Array, at: number) => halfToFloat(b[at] | (b[at + 1] << 8));

/**
 * Dequantizes `count` values (whole blocks) starting at block `firstBlock` of `blocks` into out[outAt…].
 * The one dequantization of the runtime: the reference kernels and every loader use it.
 */
export function dequantize(blocks: Uint8Array, dtype: QuantDType, firstBlock: number, count: number, out: Float32Array, outAt = 0): void {
  const { values, bytes } = QUANT_BLOCKS[dtype];
  for (let k = 0; k < count / values; k++) {
    const p = (firstBlock + k) * bytes;
    const o = outAt + k * values;
    const d = half(blocks, p);
    if (dtype === "q8_0") {
      for (let j = 0; j < 32; j++) out[o + j] = d * ((blocks[p + 2 + j] << 24) >> 24);
    } else if (dtype === "q4_0") {
      for (let j = 0; j < 16; j++) {
        const q = blocks[p + 2 + j];
        out[o + j] = d * ((q & 0xf) - 8);
        out[o + j + 16] = d * ((q >> 4) - 8);
      }
    } else {
      const dmin = half(blocks, p + 2);
      for (let c = 0; c < 4; c++) {
        const [s0, m0] = q4kScaleMin(blocks, p + 4, 2 * c);
        const [s1, m1] = q4kScaleMin(blocks, p + 4, 2 * c + 1);
        for (let l = 0; l < 32; l++) {
          const q = blocks[p + 16 + 32 * c + l];
          out[o + 64 * c + l] = d * s0 * (q & 0xf) - dmin * m0;
          out[o + 64 * c + 32 + l] = d * s1 * (q >> 4) - dmin * m1;
        }
      }
    }
  }
}

/** Every value of a quantized tensor as float32. */
export function dequantizeAll(blocks: Uint8Array, dtype: QuantDType): Float32Array {
  const { values, bytes } = QUANT_BLOCKS[dtype];
  if (blocks.byteLength % bytes !== 0) fail(`${dtype} data of ${blocks.byteLength} bytes is not whole blocks of ${bytes} bytes`);
  const out = new Float32Array((blocks.byteLength / bytes) * values);
  dequantize(blocks, dtype, 0, out.length, out);
  return out;
}

const f32 = Math.fround;
/** C's roundf: halves away from zero. */
const roundAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));

/**
 * float32 values (rows of whole blocks) → blocks. q8_0 and q4_0 follow llama.cpp's reference quantizers in
 * float32 arithmetic, so they give llama-quantize's bytes; q4_k takes each sub-block's min and max (clamped to
 * include 0) and rounds scales and mins to 6 bits — simpler than llama.cpp's search, same format.
 */
export function quantize(values: Float32Array, dtype: QuantDType): Uint8Array {
  const { values: per, bytes } = QUANT_BLOCKS[dtype];
  if (values.length % per !== 0) fail(`${values.length} values are not whole ${dtype} blocks of ${per}`);
  const out = new Uint8Array((values.length / per) * bytes);
  const setHalf = (at: number, v: number) => {
    const h = floatToHalf(v);
    out[at] = h & 0xff;
    out[at + 1] = h >> 8;
  };
  for (let k = 0; k < values.length / per; k++) {
    const x = values.subarray(k * per, (k + 1) * per);
    const p = k * bytes;
    if (dtype === "q8_0") {
      const amax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const d = f32(amax / 127);
      const id = d ? f32(1 / d) : 0;
      setHalf(p, d);
      for (let j = 0; j < 32; j++) out[p + 2 + j] = roundAway(f32(x[j] * id)) & 0xff;
    } else if (dtype === "q4_0") {
      let amax = 0;
      let max = 0;
      for (const v of x) if (amax < Math.abs(v)) [amax, max] = [Math.abs(v), v];
      const d = f32(max / -8);
      const id = d ? f32(1 / d) : 0;
      setHalf(p, d);
      const q = (v: number) => Math.min(15, Math.trunc(f32(f32(v * id) + 8.5)));
      for (let j = 0; j < 16; j++) out[p + 2 + j] = q(x[j]) | (q(x[j + 16]) << 4);
    } else {
      quantizeQ4k(x, out, p, setHalf);
    }
  }
  return out;
}

function quantizeQ4k(x: Float32Array, out: Uint8Array, p: number, setHalf: (at: number, v: number) => void): void {
  const scales = new Float64Array(8);
  const mins = new Float64Array(8);
  for (let s = 0; s < 8; s++) {
    const sub = x.subarray(32 * s, 32 * s + 32);
    const lo = Math.min(0, ...sub);
    const hi = Math.max(0, ...sub);
    scales[s] = (hi - lo) / 15;
    mins[s] = -lo;
  }
  const d = Math.max(...scales) / 63;
  const dmin = Math.max(...mins) / 63;
  setHalf(p, d);
  setHalf(p + 2, dmin);
  const dh = halfToFloat(floatToHalf(d));
  const mh = halfToFloat(floatToHalf(dmin));
  const sc = Array.from(scales, (v) => (dh ? Math.min(63, Math.round(v / dh)) : 0));
  const mn = Array.from(mins, (v) => (mh ? Math.min(63, Math.round(v / mh)) : 0));
  for (let s = 0; s < 4; s++) {
    out[p + 4 + s] = sc[s] | ((sc[s + 4] >> 4) << 6);
    out[p + 8 + s] = mn[s] | ((mn[s + 4] >> 4) << 6);
    out[p + 12 + s] = (sc[s + 4] & 0xf) | ((mn[s + 4] & 0xf) << 4);
  }
  for (let c = 0; c < 4; c++) {
    const q = (s: number, l: number) => {
      const step = dh * sc[s];
      const v = step ? Math.round((x[32 * s + l] + mh * mn[s]) / step) : 0;
      return Math.max(0, Math.min(15, v));
    };
    for (let l = 0; l < 32; l++) out[p + 16 + 32 * c + l] = q(2 * c, l) | (q(2 * c + 1, l) << 4);
  }
}

/** The tensors (HF names) that may be quantized: the matrices of matmul and embedding. */
export function isMatrixWeight(name: string): boolean {
  return /(^|\.)(in_proj|out_proj|embeddings|lm_head)\.weight$/.test(name);
}
