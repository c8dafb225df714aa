/**
 * Helpers for tests of every package: golden tensors of any dtype as float64, and error measures.
 * Web-standard APIs only (callers read the file).
 */
const READERS: Record<string, [number, (v: DataView, o: number) => number]> = {
  F64: [8, (v, o) => v.getFloat64(o, true)],
  F32: [4, (v, o) => v.getFloat32(o, true)],
  I64: [8, (v, o) => Number(v.getBigInt64(o, true))],
  I32: [4, (v, o) => v.getInt32(o, true)],
};

export interface Golden {
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

/** Every tensor of a (trusted) safetensors file of F64/F32/I64/I32 goldens, as float64. */
export function readGoldens(file: Uint8Array): Map<string, Golden> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, Golden>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const reader = READERS[info.dtype];
    if (!reader) throw new Error(`golden ${name}: dtype ${info.dtype} is not F64, F32, I64 or I32`);
    const [size, get] = reader;
    const [begin, end] = info.data_offsets;
    const values = new Float64Array((end - begin) / size);
    for (let i = 0; i < values.length; i++) values[i] = get(view, 8 + n + begin + i * size);
    out.set(name, { shape: info.shape, values });
  }
  return out;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`compared arrays differ in length: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max |actual − expected| relative to the scale of the expected values (at least 1). */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  return maxAbsDiff(actual, expected) / Math.max(1, maxAbs(expected));
}
