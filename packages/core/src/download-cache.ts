/**
 * Where downloaded model files are kept, by (endpoint, repository id, revision, file). `hubFolder` streams each
 * file into a writer, checks its size and sha256, then commits it. A cache that keeps unfinished downloads
 * (`partial`) lets the next load resume them with a Range request. Implementations: `memoryCache` (nothing kept
 * between loads), `browserCache` (the Cache API), `fileCache` (a folder; `@mamba2/core/node`).
 */
import { blobSource, type ByteSource } from "./bytes.js";
import { fail } from "./errors.js";
import { reason } from "./http.js";

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
  /** Waits until no other load holds the file, then holds it until the returned release is called. */
  lock?(key: CacheKey): Promise<() => Promise<void>>;
}

const label = (key: CacheKey) => `${key.id}@${key.revision}/${key.file}`;

/** Keeps each download in memory until it is complete; nothing outlives the folder that fetched it. */
export function memoryCache(): DownloadCache {
  return {
    name: "memory",
    get: async () => null,
    partial: async () => null,
    async writer(key) {
      // Chunks are moved into a Blob every 64 MiB, which browsers may keep on disk.
      let blob = new Blob([]);
      let chunks: Uint8Array[] = [];
      let pending = 0;
      const flush = () => {
        blob = new Blob([blob, ...(chunks as BlobPart[])]);
        chunks = [];
        pending = 0;
      };
      return {
        async write(chunk) {
          chunks.push(chunk);
          if ((pending += chunk.length) >= 1 << 26) flush();
        },
        close: async () => {},
        commit: async () => (flush(), blobSource(blob, label(key))),
        discard: async () => void ((chunks = []), (blob = new Blob([]))),
      };
    },
  };
}

/**
 * The browser's Cache API (`caches`, also in Deno): a complete file is one cached Response, stored under its
 * resolve URL and streamed into the cache as it downloads (never whole in memory). Unfinished downloads are not
 * kept (a retry within one load still resumes).
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
      const cache = await caches.open(name);
      let body!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({ start: (c) => void (body = c) });
      const headers = { "content-type": "application/octet-stream" };
      // Settles when the stream ends: stored on close(), dropped on error().
      const stored = cache.put(url(key), new Response(stream, { headers })).then(() => null, (e: unknown) => e);
      const stop = async (why: string) => {
        body.error(new Error(why));
        await stored;
      };
      return {
        write: async (chunk) => body.enqueue(chunk),
        close: () => stop("download interrupted"),
        async commit() {
          body.close();
          const error = await stored;
          const response = error ? null : await cache.match(url(key));
          if (!response) fail(`${label(key)}: the Cache API did not store the file (${error ? reason(error) : "no entry"}); load with cache: memoryCache() to keep it in memory instead`);
          return blobSource(await response.blob(), label(key));
        },
        discard: () => stop("download discarded"),
      };
    },
  };
}

/** The Cache API where the runtime has one (browsers, Deno), else memory. */
export function defaultCache(): DownloadCache {
  return typeof caches === "object" && caches !== null ? browserCache() : memoryCache();
}
