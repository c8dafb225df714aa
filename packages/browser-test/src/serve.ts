/**
 * A static file server for browser tests: node:http on 127.0.0.1 (a secure context, so WebGPU and
 * SharedArrayBuffer are allowed), a free port, MIME types browsers insist on (application/wasm for
 * streaming compilation, text/javascript for modules), HEAD and single-range requests (206) as model
 * loaders use them, and COOP/COEP headers on request so that `crossOriginIsolated` is true in the page.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve, sep } from "node:path";

export interface ServeOptions {
  /** Send `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`. */
  crossOriginIsolated?: boolean;
}

export interface ServedRequest {
  method: string;
  /** The decoded path, e.g. `/assets/index.js`. */
  path: string;
  /** The Range header, when one was sent. */
  range?: string;
  status: number;
}

export interface Served {
  /** `http://127.0.0.1:PORT/` (with the trailing slash). */
  url: string;
  /** Every request answered so far, in order. */
  requests: ServedRequest[];
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

export function mimeType(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? "application/octet-stream";
}

/** Serves `dir` (a directory's `index.html` for its path) until `close()`. */
export async function serveDir(dir: string, options: ServeOptions = {}): Promise<Served> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`serveDir: ${root} is not a directory`);
  const requests: ServedRequest[] = [];

  const server = createServer(async (req, res) => {
    const method = req.method ?? "GET";
    let path = "/";
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      path = req.url ?? "/";
    }
    const range = req.headers.range;
    const answer = (status: number) => {
      requests.push({ method, path, ...(range ? { range } : {}), status });
      res.statusCode = status;
    };
    res.setHeader("Cache-Control", "no-store");
    if (options.crossOriginIsolated) {
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
      res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    }
    if (method !== "GET" && method !== "HEAD") {
      answer(405);
      res.end();
      return;
    }
    let file = join(root, path);
    if (file !== root && !file.startsWith(root + sep)) {
      answer(403);
      res.end();
      return;
    }
    let st = await stat(file).catch(() => null);
    if (st?.isDirectory()) {
      file = join(file, "index.html");
      st = await stat(file).catch(() => null);
    }
    if (!st?.isFile()) {
      answer(404);
      res.end(`not found: ${path}`);
      return;
    }
    res.setHeader("Content-Type", mimeType(file));
    res.setHeader("Accept-Ranges", "bytes");
    let start = 0;
    let end = st.size - 1;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      const a = m?.[1] ? Number(m[1]) : null;
      const b = m?.[2] ? Number(m[2]) : null;
      if (m && a !== null) {
        start = a;
        end = b === null ? st.size - 1 : Math.min(b, st.size - 1);
      } else if (m && b !== null) {
        start = Math.max(0, st.size - b);
      }
      if (!m || (a === null && b === null) || start > end || start >= st.size) {
        res.setHeader("Content-Range", `bytes */${st.size}`);
        answer(416);
        res.end();
        return;
      }
      res.setHeader("Content-Range", `bytes ${start}-${end}/${st.size}`);
      answer(206);
    } else {
      answer(200);
    }
    res.setHeader("Content-Length", String(end - start + 1));
    if (method === "HEAD" || st.size === 0) {
      res.end();
      return;
    }
    createReadStream(file, { start, end }).on("error", () => res.destroy()).pipe(res);
  });

  await new Promise<void>((ok, bad) => {
    server.once("error", bad);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
