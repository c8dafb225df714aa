import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const fixtureDir = (name: string) => fileURLToPath(new URL(`./fixtures/${name}/`, import.meta.url));
export const shakespeareDir = fileURLToPath(new URL("../../../models/mamba2-shakespeare/", import.meta.url));

export interface Golden {
  shape: number[];
  data: Float64Array | Float32Array | Int32Array | BigInt64Array;
}

/** Reads every tensor of a golden safetensors file, whatever its dtype (test-only, no checks). */
export function readGoldens(path: string): Map<string, Golden> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const out = new Map<string, Golden>();
  const types = { F64: Float64Array, F32: Float32Array, I32: Int32Array, I64: BigInt64Array } as const;
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === "__metadata__") continue;
    const [b, e] = info.data_offsets;
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    const Ctor = types[info.dtype as keyof typeof types];
    if (!Ctor) throw new Error(`golden ${name}: dtype ${info.dtype}`);
    out.set(name, { shape: info.shape, data: new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) as Golden["data"] });
  }
  return out;
}

export const ints = (g: Golden): number[] => Array.from(g.data as ArrayLike<number | bigint>, Number);

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max |a − b| relative to the scale of the expected values (at least 1). */
export const relErr = (actual: ArrayLike<number>, expected: ArrayLike<number>) => maxAbsDiff(actual, expected) / Math.max(1, maxAbs(expected));
