/**
 * GGUF (llama.cpp's file format), version 2 and 3, little-endian: magic "GGUF", u32 version, u64 tensor count,
 * u64 metadata count, metadata (string key, u32 type, value), tensor infos (name, u32 n_dims, u64 ne[n_dims]
 * innermost first, u32 ggml type, u64 offset), padding to `general.alignment` (32), then the data. Strings are
 * a u64 length and UTF-8 bytes; arrays a u32 element type, a u64 count and the elements.
 */
import type { ByteSource } from "./bytes.js";
import { fail } from "./errors.js";

export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** ggml tensor types this runtime reads, by their GGUF code. */
export const GGML_TYPES: Readonly<Record<number, string>> = { 0: "F32", 1: "F16", 2: "Q4_0", 8: "Q8_0", 12: "Q4_K", 30: "BF16" };
const GGML_CODES = Object.fromEntries(Object.entries(GGML_TYPES).map(([code, name]) => [name, Number(code)]));
/** [values per block, bytes per block] of each type. */
const GGML_BLOCK: Readonly<Record<string, readonly [number, number]>> = {
  F32: [1, 4], F16: [1, 2], BF16: [1, 2], Q8_0: [32, 34], Q4_0: [32, 18], Q4_K: [256, 144],
};

export interface GgufTensor {
  readonly name: string;
  /** Row-major (outermost first): the reverse of GGUF's ne. */
  readonly shape: readonly number[];
  /** F32, F16, BF16, Q8_0, Q4_0 or Q4_K. */
  readonly type: string;
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface GgufFile {
  readonly source: ByteSource;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: ReadonlyMap<string, GgufTensor>;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const MAX_HEADER_BYTES = 512 * 2 ** 20;

/** Reads values from the front of a ByteSource, fetching more bytes as it goes. */
class Cursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  constructor(private readonly source: ByteSource) {}

  private async need(n: number): Promise<void> {
    if (this.pos + n <= this.buf.length) return;
    const want = Math.min(this.source.size, Math.max(this.pos + n, 2 * this.buf.length, 1 << 16));
    if (this.pos + n > this.source.size) fail(`${this.source.name}: truncated GGUF header (${this.source.size} bytes)`);
    if (want > MAX_HEADER_BYTES) fail(`${this.source.name}: GGUF header exceeds ${MAX_HEADER_BYTES} bytes`);
    const more = await this.source.read(this.buf.length, want - this.buf.length);
    const next = new Uint8Array(want);
    next.set(this.buf);
    next.set(more, this.buf.length);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  async u32(): Promise<number> {
    await this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  async u64(): Promise<number> {
    await this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${this.source.name}: GGUF count or offset ${v} is too large`);
    return Number(v);
  }

  async string(): Promise<string> {
    const n = await this.u64();
    await this.need(n);
    const s = new TextDecoder().decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  async value(type: number, where: string): Promise<GgufValue> {
    if (type === 8) return this.string();
    if (type === 9) {
      const inner = await this.u32();
      const n = await this.u64();
      const out: GgufValue[] = [];
      for (let i = 0; i < n; i++) out.push(await this.value(inner, where));
      return out;
    }
    const s = SCALARS[type];
    if (!s) fail(`${this.source.name}: metadata ${where} has unknown value type ${type}`);
    await this.need(s[0]);
    const v = s[1](this.view, this.pos);
    this.pos += s[0];
    return v;
  }
}

/** GGUF scalar value types: [bytes, reader]. */
const SCALARS: Record<number, [number, (v: DataView, o: number) => number | bigint | boolean]> = {
  0: [1, (v, o) => v.getUint8(o)], 1: [1, (v, o) => v.getInt8(o)],
  2: [2, (v, o) => v.getUint16(o, true)], 3: [2, (v, o) => v.getInt16(o, true)],
  4: [4, (v, o) => v.getUint32(o, true)], 5: [4, (v, o) => v.getInt32(o, true)],
  6: [4, (v, o) => v.getFloat32(o, true)], 7: [1, (v, o) => v.getUint8(o) !== 0],
  10: [8, (v, o) => v.getBigUint64(o, true)], 11: [8, (v, o) => v.getBigInt64(o, true)],
  12: [8, (v, o) => v.getFloat64(o, true)],
};

/** Parses a GGUF file's header (metadata and tensor infos); tensor data stays in the source. */
export async function readGguf(source: ByteSource): Promise<GgufFile> {
  const file = source.name;
  const c = new Cursor(source);
  if (source.size < 24 || (await c.u32()) !== MAGIC) fail(`${file}: not a GGUF file (no "GGUF" magic)`);
  const version = await c.u32();
  if (version > 0xffff) fail(`${file}: a big-endian GGUF (version field ${version}), which is not supported: convert it to little-endian`);
  if (version !== 2 && version !== 3) fail(`${file}: GGUF version ${version} is not supported (2 or 3)`);
  const tensorCount = await c.u64();
  const kvCount = await c.u64();
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await c.string();
    metadata.set(key, await c.value(await c.u32(), key));
  }
  const infos: { name: string; shape: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = await c.string();
    const dims = await c.u32();
    if (dims > 4) fail(`${file}: tensor ${name} has ${dims} dimensions (at most 4)`);
    const ne: number[] = [];
    for (let d = 0; d < dims; d++) ne.push(await c.u64());
    infos.push({ name, shape: ne.reverse(), type: await c.u32(), offset: await c.u64() });
  }
  const alignment = Number(metadata.get("general.alignment") ?? 32);
  if (!Number.isInteger(alignment) || alignment <= 0) fail(`${file}: general.alignment must be a positive integer, found ${alignment}`);
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors = new Map<string, GgufTensor>();
  for (const t of infos) {
    const where = `${file}: tensor ${t.name}`;
    const type = GGML_TYPES[t.type];
    if (!type) fail(`${where}: ggml type ${t.type} is not supported (supported: ${Object.values(GGML_TYPES).join(", ")})`);
    const bytes = ggmlBytes(t.shape, type, where);
    const begin = dataStart + t.offset;
    if (t.offset % alignment !== 0) fail(`${where}: data offset ${t.offset} is not a multiple of the alignment ${alignment}`);
    if (begin + bytes > source.size) fail(`${where}: data ends at byte ${begin + bytes} but the file has ${source.size} bytes (truncated?)`);
    if (tensors.has(t.name)) fail(`${where}: appears twice`);
    tensors.set(t.name, { name: t.name, shape: Object.freeze(t.shape), type, begin, end: begin + bytes });
  }
  return { source, version, metadata, tensors };
}

function ggmlBytes(shape: readonly number[], type: string, where: string): number {
  const [values, bytes] = GGML_BLOCK[type];
  const row = shape[shape.length - 1] ?? 1;
  if (row % values !== 0) fail(`${where}: rows of ${row} values are not whole ${type} blocks of ${values}`);
  return (shape.reduce((a, b) => a * b, 1) / values) * bytes;
}

/** A metadata value of a GGUF for writing: the GGUF value type is explicit for numbers. */
export type GgufEntry =
  | { type: "u32" | "i32" | "f32" | "u8"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; of: "string" | "i32" | "f32"; value: readonly (string | number)[] };

export interface GgufTensorData {
  readonly name: string;
  readonly shape: readonly number[]; // row-major
  readonly type: string; // F32, F16, BF16, Q8_0, Q4_0, Q4_K
  readonly data: Uint8Array;
}

/** Writes a GGUF v3 file (alignment 32) as a list of byte chunks, header first. */
export function writeGguf(metadata: ReadonlyMap<string, GgufEntry>, tensors: readonly GgufTensorData[]): Uint8Array[] {
  const parts: number[] = [];
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const flush = () => {
    chunks.push(Uint8Array.from(parts));
    parts.length = 0;
  };
  const put = (bytes: ArrayLike<number>) => {
    for (let i = 0; i < bytes.length; i++) parts.push(bytes[i]);
  };
  const num = (n: number | bigint, size: number, kind: "u" | "i" | "f") => {
    const v = new DataView(new ArrayBuffer(size));
    if (size === 8) v.setBigUint64(0, BigInt(n), true);
    else if (kind === "f") v.setFloat32(0, Number(n), true);
    else if (kind === "i") v.setInt32(0, Number(n), true);
    else if (size === 4) v.setUint32(0, Number(n), true);
    else v.setUint8(0, Number(n));
    put(new Uint8Array(v.buffer));
  };
  const str = (s: string) => {
    const b = enc.encode(s);
    num(b.length, 8, "u");
    put(b);
  };
  const CODES = { u8: 0, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
  num(MAGIC, 4, "u");
  num(3, 4, "u");
  num(tensors.length, 8, "u");
  num(metadata.size, 8, "u");
  for (const [key, e] of metadata) {
    str(key);
    num(CODES[e.type], 4, "u");
    if (e.type === "string") str(e.value);
    else if (e.type === "bool") num(e.value ? 1 : 0, 1, "u");
    else if (e.type === "array") {
      num(CODES[e.of], 4, "u");
      num(e.value.length, 8, "u");
      for (const v of e.value) {
        if (e.of === "string") str(v as string);
        else num(v as number, 4, e.of === "f32" ? "f" : "i");
      }
    } else num(e.value, e.type === "u8" ? 1 : 4, e.type[0] as "u" | "i" | "f");
  }
  let offset = 0;
  const align = (n: number) => Math.ceil(n / 32) * 32;
  for (const t of tensors) {
    if (t.data.byteLength !== ggmlBytes(t.shape, t.type, `tensor ${t.name}`)) fail(`tensor ${t.name}: ${t.data.byteLength} bytes do not match ${t.type} [${t.shape.join(", ")}]`);
    str(t.name);
    num(t.shape.length, 4, "u");
    for (const d of [...t.shape].reverse()) num(d, 8, "u");
    num(GGML_CODES[t.type], 4, "u");
    num(offset, 8, "u");
    offset = align(offset + t.data.byteLength);
  }
  put(new Uint8Array(align(parts.length) - parts.length));
  flush();
  for (const t of tensors) {
    chunks.push(t.data);
    chunks.push(new Uint8Array(align(t.data.byteLength) - t.data.byteLength));
  }
  return chunks;
}
