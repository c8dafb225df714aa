import { type ByteSource } from "./bytes.js";
import { fail } from "./errors.js";

/**
 * safetensors: u64 LE header length n, n bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}}`
 * (offsets relative to the data after the header), then the data. The header is checked before use.
 */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};

export interface TensorEntry {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export class SafetensorsFile {
  private constructor(
    readonly source: ByteSource,
    readonly tensors: ReadonlyMap<string, TensorEntry>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  static async open(source: ByteSource): Promise<SafetensorsFile> {
    const file = source.name;
    if (source.size < 8) fail(`${file}: not a safetensors file (${source.size} bytes, shorter than the 8-byte header length)`);
    const lenBytes = await source.read(0, 8);
    const headerLen = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
    if (headerLen > MAX_HEADER_BYTES) fail(`${file}: header length ${headerLen} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
    if (8 + headerLen > source.size) fail(`${file}: truncated: header of ${headerLen} bytes but the file has ${source.size} bytes`);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await source.read(8, headerLen)));
    } catch (e) {
      fail(`${file}: header is not valid JSON (${(e as Error).message.split("\n")[0]})`);
    }
    if (header === null || typeof header !== "object" || Array.isArray(header)) fail(`${file}: header is not a JSON object`);
    const dataStart = 8 + headerLen;
    const dataSize = source.size - dataStart;
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
      if (name === "__metadata__") {
        metadata = (info ?? {}) as Record<string, string>;
        continue;
      }
      tensors.set(name, checkEntry(file, name, info, dataStart, dataSize));
    }
    const sorted = [...tensors].sort((a, b) => a[1].begin - b[1].begin);
    for (let i = 1; i < sorted.length; i++) {
      const [prevName, prev] = sorted[i - 1];
      const [name, cur] = sorted[i];
      if (cur.begin < prev.end) fail(`${file}: tensors ${prevName} and ${name} overlap`);
    }
    return new SafetensorsFile(source, tensors, metadata);
  }

  entry(name: string): TensorEntry {
    const e = this.tensors.get(name);
    if (!e) fail(`${this.source.name}: no tensor named ${name}`);
    return e;
  }

  /** The tensor's raw little-endian bytes. */
  async bytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    return this.source.read(e.begin, e.end - e.begin);
  }
}

function checkEntry(file: string, name: string, info: unknown, dataStart: number, dataSize: number): TensorEntry {
  const where = `${file}: tensor ${name}`;
  if (info === null || typeof info !== "object") fail(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) fail(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`${where}: shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    fail(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataSize) fail(`${where}: data ends at byte ${end} but the file has ${dataSize} data bytes (truncated?)`);
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    fail(`${where}: ${end - begin} bytes of data, expected ${expected} for ${dtype} [${shape.join(", ")}]`);
  }
  return { dtype, shape: Object.freeze([...shape]), begin: dataStart + begin, end: dataStart + end };
}

/** A tensor to write: its safetensors dtype name (F32, F16, BF16, …), shape and byte length. */
export interface TensorHeader {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/**
 * The first bytes of a safetensors file holding `tensors` in the order given (their data follows, concatenated):
 * u64 LE header length, then the JSON header padded with spaces to a multiple of 8 bytes.
 */
export function safetensorsHeader(tensors: readonly TensorHeader[], metadata: Record<string, string> = { format: "pt" }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let at = 0;
  for (const t of tensors) {
    if (!(t.dtype in DTYPE_BYTES)) fail(`tensor ${t.name}: safetensors has no dtype ${t.dtype} (it holds ${Object.keys(DTYPE_BYTES).join(", ")})`);
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.byteLength !== expected) fail(`tensor ${t.name}: ${t.byteLength} bytes, expected ${expected} for ${t.dtype} [${t.shape.join(", ")}]`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.byteLength] };
    at += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** A whole safetensors file in memory. */
export function writeSafetensors(tensors: readonly (Omit<TensorHeader, "byteLength"> & { readonly bytes: Uint8Array })[], metadata?: Record<string, string>): Uint8Array {
  const head = safetensorsHeader(tensors.map((t) => ({ ...t, byteLength: t.bytes.byteLength })), metadata);
  const out = new Uint8Array(head.length + tensors.reduce((a, t) => a + t.bytes.byteLength, 0));
  out.set(head);
  let p = head.length;
  for (const t of tensors) (out.set(t.bytes, p), (p += t.bytes.byteLength));
  return out;
}
