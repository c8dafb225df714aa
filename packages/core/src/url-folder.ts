/**
 * A model folder behind a URL prefix: `{base}/{file}` over fetch. Where the server answers Range requests
 * (206), weights are read lazily, a request per read, so a large file never sits whole in memory; otherwise each
 * file is fetched whole. `list()` is null: a plain URL cannot be listed.
 */
import { bytesSource, type ByteSource } from "./bytes.js";
import { fail, Mamba2Error } from "./errors.js";
import type { ModelFolder } from "./folder.js";
import { contentLength, type Fetch, filePath, httpError, rangeTotal, readBody, reason, request } from "./http.js";
import { type FileProgress, type OnProgress, ProgressTracker, trackedSource } from "./progress.js";

export interface UrlFolderOptions {
  /** Progress of each file's bytes (fetched whole, or read through Range requests). */
  onProgress?: OnProgress;
  /** false: always fetch whole files (default true: Range requests where the server supports them). */
  range?: boolean;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  fetch?: Fetch;
}

export function urlFolder(baseUrl: string | URL, options: UrlFolderOptions = {}): ModelFolder {
  const base = new URL(String(baseUrl), globalThis.location?.href);
  if (base.protocol !== "http:" && base.protocol !== "https:") fail(`${base}: not an http(s) URL`);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const fetchFn = options.fetch ?? globalThis.fetch;
  const headers = options.headers ?? {};
  const tracker = new ProgressTracker(options.onProgress);
  const urlOf = (file: string) => new URL(filePath(file), base).href;

  async function whole(file: string, res: Response, url: string, progress: FileProgress): Promise<Uint8Array> {
    progress.size(contentLength(res) ?? 0);
    const bytes = await readBody(res, file, url, (n) => progress.advance(n));
    progress.size(bytes.length);
    progress.done();
    return bytes;
  }

  return {
    name: base.href,
    async has(file) {
      const url = urlOf(file);
      const res = await request(fetchFn, url, { method: "HEAD", headers }, file);
      if (res.ok) return true;
      if (res.status === 404) return false;
      httpError(file, url, res);
    },
    async text(file) {
      const url = urlOf(file);
      const res = await request(fetchFn, url, { headers }, file);
      if (!res.ok) httpError(file, url, res);
      return new TextDecoder().decode(await whole(file, res, url, tracker.file(file)));
    },
    async source(file) {
      const url = urlOf(file);
      const progress = tracker.file(file);
      if (options.range !== false) {
        // One byte tells whether the server honours Range (206, with the size) or sends the whole file (200).
        const res = await request(fetchFn, url, { headers: { ...headers, Range: "bytes=0-0" } }, file);
        const total = res.status === 206 ? rangeTotal(res)?.total : null;
        if (res.status === 206 && total != null) {
          await res.body?.cancel();
          progress.size(total);
          if (total <= 1) progress.done();
          return trackedSource(rangeSource(fetchFn, url, file, total, headers), progress);
        }
        if (res.ok && res.status !== 206) return bytesSource(await whole(file, res, url, progress), url);
        await res.body?.cancel();
        if (res.status !== 206 && res.status !== 416) httpError(file, url, res);
      }
      const res = await request(fetchFn, url, { headers }, file);
      if (!res.ok) httpError(file, url, res);
      return bytesSource(await whole(file, res, url, progress), url);
    },
    list: async () => null,
  };
}

/** Bytes read through Range requests; a failed request is tried once more before failing. */
function rangeSource(fetchFn: Fetch, url: string, file: string, size: number, headers: Record<string, string>): ByteSource {
  const once = async (offset: number, length: number): Promise<Uint8Array> => {
    const range = `bytes=${offset}-${offset + length - 1}`;
    const res = await fetchFn(url, { headers: { ...headers, Range: range } });
    if (res.status !== 206) {
      await res.body?.cancel();
      if (!res.ok) httpError(file, url, res);
      fail(`${file}: ${url} answered Range ${range} with HTTP ${res.status}, not 206`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length !== length) throw new Error(`${bytes.length} of ${length} bytes`);
    return bytes;
  };
  return {
    name: url,
    size,
    async read(offset, length) {
      if (length === 0) return new Uint8Array(0);
      try {
        return await once(offset, length);
      } catch (first) {
        if (first instanceof Mamba2Error) throw first;
        try {
          return await once(offset, length);
        } catch (e) {
          if (e instanceof Mamba2Error) throw e;
          fail(`${file}: reading bytes ${offset}-${offset + length - 1} of ${size} from ${url} failed twice (${reason(e)})`);
        }
      }
    },
  };
}
