/**
 * Where downloaded model files are kept, by (endpoint, repository id, revision, file). `hubFolder` streams each
 * file into a writer, checks its size and sha256, then commits it. A cache that keeps unfinished downloads
 * (`partial`) lets the next load resume them with a Range request. Implementations: `memoryCache` (nothing kept
 * between loads), `browserCache` (the Cache API), `fileCache` (a folder; `@mamba2/core/node`).
 */
import { blobSource, type ByteSource } from "./bytes.js";

export interface CacheKey {
  readonly endpoint: string;
  readonly id: string;
  readonly revision: string;
  readonly file: string;
}

export interface CacheWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Stops writing; what was written stays as the partial file where the cache keeps partials. */
  close(): Promise<void>;
  /** The download is complete and verified: stores it and returns it. */
  commit(): Promise<ByteSource>;
  /** The download is corrupt: drops what was written. */
  discard(): Promise<void>;
}

export interface DownloadCache {
  /** For messages: a path or a cache name. */
  readonly name: string;
  /** The complete file, or null when it is not cached. */
  get(key: CacheKey): Promise<ByteSource | null>;
  /** The bytes of an unfinished download of the file, or null. */
  partial(key: CacheKey): Promise<ByteSource | null>;
  /** A writer that continues the partial file at `offset` (its size, or 0 to start over). */
  writer(key: CacheKey, offset: number): Promise<CacheWriter>;
}

const label = (key: CacheKey) => `${key.id}@${key.revision}/${key.file}`;

/** Keeps each download in memory until it is complete; nothing outlives the folder that fetched it. */
export function memoryCache(): DownloadCache {
  return {
    name: "memory",
    get: async () => null,
    partial: async () => null,
    async writer(key) {
      const chunks: Uint8Array[] = [];
      return {
        write: async (chunk) => void chunks.push(chunk),
        close: async () => {},
        commit: async () => blobSource(new Blob(chunks as BlobPart[]), label(key)),
        discard: async () => void (chunks.length = 0),
      };
    },
  };
}

/**
 * The browser's Cache API (`caches`, also in Deno): a complete file is one cached Response, stored under its
 * resolve URL. Unfinished downloads are not kept (a retry within one load still resumes).
 */
export function browserCache(name = "mamba2-models"): DownloadCache {
  const url = (key: CacheKey) => `${key.endpoint}/${key.id}/resolve/${encodeURIComponent(key.revision)}/${key.file}`;
  return {
    name: `Cache API "${name}"`,
    async get(key) {
      const response = await (await caches.open(name)).match(url(key));
      return response ? blobSource(await response.blob(), label(key)) : null;
    },
    partial: async () => null,
    async writer(key) {
      const chunks: Uint8Array[] = [];
      return {
        write: async (chunk) => void chunks.push(chunk),
        close: async () => {},
        async commit() {
          const blob = new Blob(chunks as BlobPart[]);
          const headers = { "content-type": "application/octet-stream", "content-length": String(blob.size) };
          // A full quota leaves the file uncached; the load itself goes on with the downloaded bytes.
          await (await caches.open(name)).put(url(key), new Response(blob, { headers })).catch(() => {});
          return blobSource(blob, label(key));
        },
        discard: async () => void (chunks.length = 0),
      };
    },
  };
}

/** The Cache API where the runtime has one (browsers, Deno), else memory. */
export function defaultCache(): DownloadCache {
  return typeof caches === "object" && caches !== null ? browserCache() : memoryCache();
}
