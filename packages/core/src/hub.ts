/**
 * A Hugging Face Hub repository as a model folder: files at `{endpoint}/{id}/resolve/{revision}/{file}`, each
 * downloaded once into a cache and read from there. A download is checked against the size and sha256 the Hub
 * gives (the tree API's listing, else the `X-Linked-Size` / `X-Linked-ETag` headers of an LFS file's redirect),
 * retried from where it broke off, and, with a cache that keeps partial files, resumed by the next load. The
 * listing (`{endpoint}/api/models/{id}/tree/{revision}`) is cached too, so a second load makes no request.
 */
import type { ByteSource } from "./bytes.js";
import { type CacheKey, type CacheWriter, defaultCache, type DownloadCache } from "./download-cache.js";
import { fail, Mamba2Error } from "./errors.js";
import type { ModelFolder } from "./folder.js";
import { chunksOf, contentLength, type Fetch, filePath, httpError, rangeTotal, reason, request } from "./http.js";
import { type FileProgress, type OnProgress, ProgressTracker } from "./progress.js";
import { Sha256 } from "./sha256.js";

export const HUB_ENDPOINT = "https://huggingface.co";

export interface HubOptions {
  /** A branch, tag or commit (default "main"). */
  revision?: string;
  /** The Hub's address (default https://huggingface.co); a mirror with the same URL layout works. */
  endpoint?: string;
  /** Where downloads are kept (default: the Cache API where there is one, else memory; a folder in ./node). */
  cache?: DownloadCache;
  /** An access token for private or gated repositories. */
  token?: string;
  onProgress?: OnProgress;
  /** A SHA-256 over chunks (default: ours in JavaScript; `@mamba2/core/node` passes node:crypto's, many times faster). */
  sha256?: () => Sha256Hasher;
  /** Further attempts after a download breaks off, each resuming where the last stopped (default 2). */
  retries?: number;
  fetch?: Fetch;
}

export interface Sha256Hasher {
  update(chunk: Uint8Array): unknown;
  /** The digest as lowercase hex. */
  hex(): string;
}

interface FileMeta {
  size: number;
  sha256?: string;
}

/** The cache entry holding the repository's listing (a name no repository file has at its root). */
const LISTING = ".mamba2-listing.json";
const SHA256 = /^[0-9a-f]{64}$/;

/** Whether `id` looks like a Hub repository id: `name` or `org/name`. */
export function isHubId(id: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(id) && !id.includes("..") && !/\.(json|safetensors|gguf)$/.test(id);
}

export function hubFolder(id: string, options: HubOptions = {}): ModelFolder {
  if (!isHubId(id)) fail(`${JSON.stringify(id)}: not a Hub repository id (expected "org/name")`);
  const revision = options.revision ?? "main";
  if (!revision || revision.includes("..")) fail(`${JSON.stringify(revision)}: not a revision`);
  const endpoint = (options.endpoint ?? HUB_ENDPOINT).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]/.test(endpoint)) fail(`${endpoint}: the Hub endpoint must be an http(s) URL`);
  const cache = options.cache ?? defaultCache();
  const fetchFn = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 2;
  const newHash = options.sha256 ?? (() => new Sha256());
  const auth: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  const tracker = new ProgressTracker(options.onProgress);
  const name = `${id}@${revision}`;
  const keyOf = (file: string): CacheKey => ({ endpoint, id, revision, file });
  const resolveUrl = (file: string) => `${endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${filePath(file)}`;

  let listing: Promise<Map<string, FileMeta> | null> | undefined;
  const listed = () => (listing ??= fetchListing());
  const files = new Map<string, Promise<ByteSource>>();

  /**
   * A GET retried `retries` times on a network failure (e.g. a kept-alive connection the server closed) or a 5xx,
   * as downloads are.
   */
  async function getRetried(url: string, what: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await request(fetchFn, url, { headers: auth }, what);
        if (res.status < 500 || attempt >= retries) return res;
        await res.body?.cancel();
      } catch (e) {
        if (attempt >= retries) throw e;
      }
    }
  }

  async function fetchListing(): Promise<Map<string, FileMeta> | null> {
    const key = keyOf(LISTING);
    const hit = await cache.get(key);
    let entries: [string, FileMeta][];
    if (hit) {
      entries = JSON.parse(new TextDecoder().decode(await hit.read(0, hit.size)));
    } else {
      entries = [];
      let url: string | null = `${endpoint}/api/models/${id}/tree/${encodeURIComponent(revision)}?recursive=true`;
      while (url) {
        const res = await getRetried(url, "the repository listing");
        // No API (a plain mirror), or a private repository: files are then looked up one by one.
        if (!res.ok) return (await res.body?.cancel(), null);
        const page = (await res.json().catch(() => null)) as TreeEntry[] | null;
        if (!Array.isArray(page)) return null;
        for (const e of page) {
          if (e?.type !== "file" || typeof e.path !== "string") continue;
          const sha256 = e.lfs?.oid ?? e.lfs?.sha256;
          entries.push([e.path, { size: Number(e.lfs?.size ?? e.size), ...(typeof sha256 === "string" && SHA256.test(sha256) ? { sha256 } : {}) }]);
        }
        const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "");
        url = next ? new URL(next[1], url).href : null;
      }
      // Kept for the next load; a cache that refuses it only costs that load this one request.
      const writer = await cache.writer(key, 0);
      await writer.write(new TextEncoder().encode(JSON.stringify(entries)));
      await writer.commit().catch(() => {});
    }
    return new Map(entries);
  }

  /**
   * GET; with `manual`, redirects are taken by hand to read the LFS headers of the Hub's own answer (browsers
   * hide them: an opaque redirect, then followed as usual).
   */
  async function get(file: string, offset: number, manual: boolean): Promise<{ res: Response; url: string; linked: Partial<FileMeta> }> {
    let url = resolveUrl(file);
    let headers: Record<string, string> = { ...auth, ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) };
    const linked: Partial<FileMeta> = {};
    if (!manual) {
      const res = await fetchFn(url, { headers });
      return { res, url: res.url || url, linked };
    }
    for (let hop = 0; hop < 5; hop++) {
      const res = await fetchFn(url, { headers, redirect: "manual" });
      const size = res.headers.get("x-linked-size");
      const etag = unquote(res.headers.get("x-linked-etag"));
      if (size !== null && /^\d+$/.test(size)) linked.size = Number(size);
      if (etag && SHA256.test(etag)) linked.sha256 = etag;
      const location = res.headers.get("location");
      if (res.type === "opaqueredirect") return { res: await fetchFn(url, { headers }), url, linked };
      if (res.status < 300 || res.status >= 400 || !location) return { res, url, linked };
      await res.body?.cancel();
      const next = new URL(location, url);
      // The token is for the Hub only, not for the storage it redirects to.
      if (next.origin !== new URL(url).origin) headers = offset > 0 ? { Range: `bytes=${offset}-` } : {};
      url = next.href;
    }
    fail(`${file}: too many redirects from ${resolveUrl(file)}`);
  }

  async function download(file: string, progress: FileProgress, known: FileMeta | undefined): Promise<ByteSource> {
    const key = keyOf(file);
    let expected = known;
    let hash = newHash();
    let offset = 0;
    const partial = await cache.partial(key);
    if (partial && partial.size > 0 && (!expected || partial.size < expected.size)) {
      for (let at = 0; at < partial.size; at += 1 << 24) hash.update(await partial.read(at, Math.min(1 << 24, partial.size - at)));
      offset = partial.size;
    }
    let writer: CacheWriter = await cache.writer(key, offset);
    let open = true;
    const where = () => `${offset}${expected ? ` of ${expected.size}` : ""} bytes`;
    const restart = async () => {
      await writer.close();
      writer = await cache.writer(key, 0);
      hash = newHash();
      offset = 0;
    };
    try {
      for (let attempt = 0; ; attempt++) {
        let url = resolveUrl(file);
        try {
          const got = await get(file, offset, !expected?.sha256);
          const res = got.res;
          url = got.url;
          if (res.status === 416 && offset > 0) {
            await res.body?.cancel();
            if (expected && offset === expected.size) break;
            // The partial file is not shorter than the file: start over.
            await restart();
            continue;
          }
          if (!res.ok) {
            await res.body?.cancel();
            if (res.status >= 500 && attempt < retries) throw new Error(`HTTP ${res.status}`);
            httpError(file, url, res);
          }
          if (res.status === 206) {
            const range = rangeTotal(res);
            if (range?.start !== offset) fail(`${file}: asked ${url} for bytes from ${offset}, got ${res.headers.get("content-range")}`);
          } else if (offset > 0) {
            // The server ignored the Range: start over.
            await restart();
          }
          const announced = (res.status === 206 ? rangeTotal(res)?.total : contentLength(res)) ?? undefined;
          const size = got.linked.size ?? announced;
          if (!expected && size !== undefined) expected = { size, sha256: got.linked.sha256 };
          if (expected && !expected.sha256) expected.sha256 = got.linked.sha256;
          if (expected && announced != null && announced !== expected.size) {
            fail(`${file}: ${url} announces ${announced} bytes, expected ${expected.size}`);
          }
          if (expected) progress.size(expected.size);
          for await (const chunk of chunksOf(res)) {
            if (expected && offset + chunk.length > expected.size) {
              fail(`${file}: ${url} sent more than the expected ${expected.size} bytes`);
            }
            await writer.write(chunk);
            hash.update(chunk);
            offset += chunk.length;
            progress.advance(offset);
          }
          if (expected && offset < expected.size) throw new Error("the connection closed early");
          break;
        } catch (e) {
          if (e instanceof Mamba2Error) throw e;
          if (attempt >= retries) {
            fail(`${file}: download from ${url} broke off at ${where()} after ${attempt + 1} attempts (${reason(e)})`);
          }
          await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
        }
      }
      const sha256 = hash.hex();
      if (expected?.sha256 && sha256 !== expected.sha256) {
        open = false;
        await writer.discard();
        fail(`${file}: sha256 ${sha256} of the ${offset} bytes downloaded from ${resolveUrl(file)} is not the expected ${expected.sha256}`);
      }
      open = false;
      const source = await writer.commit();
      if (!expected) progress.size(source.size);
      progress.done();
      return source;
    } finally {
      if (open) await writer.close();
    }
  }

  async function fetchFile(file: string): Promise<ByteSource> {
    filePath(file);
    const progress = tracker.file(file);
    const cached = async () => {
      const hit = await cache.get(keyOf(file));
      if (hit) {
        progress.size(hit.size);
        progress.cached();
      }
      return hit;
    };
    const hit = await cached();
    if (hit) return hit;
    const list = await listed();
    const known = list?.get(file);
    if (list && !known) fail(`${file}: not in ${name} (${endpoint}/${id})`);
    // Another load (here or in another process) that is fetching the file finishes first.
    const release = await cache.lock?.(keyOf(file));
    try {
      const fetched = await cached();
      if (fetched) return fetched;
      if (known) progress.size(known.size);
      return await download(file, progress, known && { ...known });
    } finally {
      await release?.();
    }
  }

  const source = (file: string) => {
    let p = files.get(file);
    if (!p) {
      p = fetchFile(file);
      files.set(file, p);
      p.catch(() => files.delete(file));
    }
    return p;
  };

  return {
    name,
    source,
    async text(file) {
      const s = await source(file);
      return new TextDecoder().decode(await s.read(0, s.size));
    },
    async has(file) {
      if (await cache.get(keyOf(file))) return true;
      const list = await listed();
      if (list) return list.has(file);
      const url = resolveUrl(file);
      const res = await request(fetchFn, url, { method: "HEAD", headers: auth, redirect: "manual" }, file);
      if (res.ok || res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) return true;
      if (res.status === 404) return false;
      httpError(file, url, res);
    },
    list: async () => {
      const list = await listed();
      return list && [...list.keys()];
    },
  };
}

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  lfs?: { oid?: string; sha256?: string; size?: number };
}

function unquote(etag: string | null): string | null {
  return etag ? etag.replace(/^W\//, "").replace(/^"|"$/g, "") : null;
}
