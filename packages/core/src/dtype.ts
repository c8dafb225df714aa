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

/** float32 → IEEE binary16 bits, round to nearest even; overflow to ±inf. */
export function floatToHalf(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (Number.isNaN(v)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -25) return sign;
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const m = roundEven(a / 2 ** (e - 10));
  // m in [1024, 2048] for normals (2048: rounds up into the next binade), < 1024 for subnormals
  if (m >= 2048) return sign | ((e + 16) << 10);
  return m < 1024 ? sign | m : sign | ((e + 15) << 10) | (m - 1024);
}

function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
