/** Random-access bytes: a file, a Blob, an ArrayBuffer. Reads are lazy so large files never sit whole in memory. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function bytesSource(data: ArrayBuffer | ArrayBufferView, name = "buffer"): ByteSource {
  const bytes = data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return {
    name,
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

export function blobSource(blob: Blob, name = (blob as File).name ?? "blob"): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/** A fetch `Response` (its body is read once, as a Blob). */
export async function responseSource(response: Response, name = response.url || "response"): Promise<ByteSource> {
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status} ${response.statusText}`.trim());
  return blobSource(await response.blob(), name);
}

export type ByteInput = ByteSource | ArrayBuffer | ArrayBufferView | Blob | Response;

export async function toByteSource(input: ByteInput, name?: string): Promise<ByteSource> {
  if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) return bytesSource(input, name);
  if (typeof Response !== "undefined" && input instanceof Response) return responseSource(input, name);
  if (typeof Blob !== "undefined" && input instanceof Blob) return blobSource(input, name);
  return input as ByteSource;
}
