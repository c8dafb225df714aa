import type { WeightDType } from "./backend.js";
import { fail } from "./errors.js";
import { dequantizeAll, isQuantized, quantize } from "./quant.js";

/** safetensors dtype names (and GGUF's quantized types, as a store names them) → ours. */
export function weightDType(st: string, where: string): WeightDType {
  switch (st) {
    case "F32": return "f32";
    case "F16": return "f16";
    case "BF16": return "bf16";
    case "Q8_0": return "q8_0";
    case "Q4_0": return "q4_0";
    case "Q4_K": return "q4_k";
    default: return fail(`${where}: unsupported dtype ${st} (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K)`);
  }
}

/** IEEE binary16 → float32. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let table: Float32Array | undefined;
function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfToFloat(h);
  }
  return table;
}

/** Little-endian bytes of a weight → float32 values (copied, so the source may be unaligned). */
export function toFloat32(bytes: Uint8Array, dtype: WeightDType): Float32Array {
  if (isQuantized(dtype)) return dequantizeAll(bytes, dtype);
  const aligned = bytes.slice().buffer;
  if (dtype === "f32") return new Float32Array(aligned);
  const half = new Uint16Array(aligned);
  const out = new Float32Array(half.length);
  if (dtype === "bf16") {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16;
  } else {
    const table = halfTable();
    for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
  }
  return out;
}

/**
 * float32 values → little-endian bytes of a weight dtype (f16 rounds to nearest even, bf16 truncates, quantized
 * types as quant.ts's `quantize`).
 */
export function fromFloat32(values: Float32Array, dtype: WeightDType): Uint8Array {
  if (isQuantized(dtype)) return quantize(values, dtype);
  const copy = values.slice();
  if (dtype === "f32") return new Uint8Array(copy.buffer);
  const bits = new Uint32Array(copy.buffer);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = dtype === "bf16" ? bits[i] >>> 16 : floatToHalf(values[i]);
  return new Uint8Array(out.buffer);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 → IEEE binary16 bits, round to nearest even (on the float32 value); overflow to ±inf, NaN → 0x7e00. */
export function floatToHalf(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant ? 0x7e00 : sign | 0x7c00;
  const e = exp - 112; // the binary16 exponent field
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // subnormal: units of 2^-24
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (rem > half || (rem === half && h & 1) ? h + 1 : h);
  }
  const h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // rounding up may carry into the exponent: the next binade, or infinity — both correct
  return sign | (rem > 0x1000 || (rem === 0x1000 && h & 1) ? h + 1 : h);
}
