/** fetch helpers shared by the URL and Hub folders: file paths in URLs, one-line HTTP errors, body streaming. */
import { fail } from "./errors.js";

export type Fetch = typeof globalThis.fetch;

/** A relative file path checked (no "..", no leading "/") and percent-encoded segment by segment. */
export function filePath(file: string): string {
  const parts = file.split("/");
  if (file === "" || file.includes("\\") || parts.some((p) => p === "" || p === "." || p === "..")) {
    fail(`${JSON.stringify(file)}: not a relative file path inside the model folder`);
  }
  return parts.map(encodeURIComponent).join("/");
}

/** fetch, with a network failure turned into one line naming the URL. */
export async function request(fetchFn: Fetch, url: string, init: RequestInit, file: string): Promise<Response> {
  try {
    return await fetchFn(url, init);
  } catch (e) {
    fail(`${file}: cannot fetch ${url} (${reason(e)})`);
  }
}

/** A failed response as one line: the file, the URL, the status and what it usually means. */
export function httpError(file: string, url: string, res: Response): never {
  const hint: Record<number, string> = {
    401: ": the repository is private or gated (pass a token)",
    403: ": access denied (a gated repository needs its terms accepted and a token)",
    404: ": no such file",
  };
  fail(`${file}: HTTP ${res.status}${res.statusText ? " " + res.statusText : ""} from ${url}${hint[res.status] ?? ""}`);
}

export function reason(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return (String(err?.message ?? e).split("\n")[0] + (cause ? `: ${cause}` : "")).trim();
}

/** Total size from `Content-Range: bytes a-b/N`, or null. */
export function rangeTotal(res: Response): { start: number; total: number | null } | null {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
  return m ? { start: Number(m[1]), total: m[2] === "*" ? null : Number(m[2]) } : null;
}

/** The body's length, or null when unknown or when it counts compressed bytes (fetch hands out decoded ones). */
export function contentLength(res: Response): number | null {
  const encoding = res.headers.get("content-encoding");
  if (encoding && encoding !== "identity") return null;
  const v = res.headers.get("content-length");
  return v !== null && /^\d+$/.test(v) ? Number(v) : null;
}

/** Reads the whole body, calling `onBytes` with the count so far; throws on a body shorter than Content-Length. */
export async function readBody(res: Response, file: string, url: string, onBytes: (n: number) => void): Promise<Uint8Array> {
  const expected = contentLength(res);
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const chunk of chunksOf(res)) {
      chunks.push(chunk);
      n += chunk.length;
      onBytes(n);
    }
  } catch (e) {
    fail(`${file}: download from ${url} broke off after ${n}${expected === null ? "" : ` of ${expected}`} bytes (${reason(e)})`);
  }
  if (expected !== null && n !== expected) fail(`${file}: ${url} sent ${n} bytes but announced ${expected} (Content-Length)`);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The body's chunks, through a reader (not every browser makes ReadableStream async-iterable). */
export async function* chunksOf(res: Response): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if ((finished = done)) return;
      yield value;
    }
  } finally {
    // Left early (an error, or the caller stopped): the rest of the body is not wanted.
    if (!finished) await reader.cancel().catch(() => {});
  }
}
