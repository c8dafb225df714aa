/**
 * A local stand-in for the Hugging Face Hub (127.0.0.1, a free port): `/{id}/resolve/{revision}/{file}`, LFS
 * files (.safetensors, .gguf) redirected to `/lfs/…` with `X-Linked-Size` / `X-Linked-ETag` (sha256) as the Hub
 * does, the tree API `/api/models/{id}/tree/{revision}`, Range requests, and faults on demand: a body that
 * breaks off, a lying size or sha256, no Range support, no API. Every request is logged.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** Files of a repository by path; the key is "org/name" (revision main) or "org/name@revision". */
export type Repos = Record<string, Record<string, Uint8Array>>;

export interface HubServerOptions {
  /** The tree API (default true). */
  api?: boolean;
  /** Range requests honoured (default true); otherwise every GET is a 200 of the whole file. */
  range?: boolean;
  /** The next `times` bodies of `file` stop after `bytes` bytes (the connection is cut). */
  breakOff?: { file: string; bytes: number; times: number };
  /** JSON files sent gzip-encoded to clients that accept it (Content-Length then counts compressed bytes). */
  gzip?: boolean;
  /** The next `times` GET requests for `file` are answered with HTTP `status`. */
  failWith?: { file: string; status: number; times: number };
  /** Size or sha256 announced (headers and listing) instead of the true ones. */
  announce?: Record<string, { size?: number; sha256?: string }>;
  /** A folder of ES modules served at /dist/, with an empty page at / (for a browser on the same origin). */
  dist?: string;
}

export interface Logged {
  method: string;
  path: string;
  range: string | null;
  status: number;
  /** Body bytes sent. */
  bytes: number;
}

export interface HubServer {
  url: string;
  log: Logged[];
  options: HubServerOptions;
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const gitOid = (b: Uint8Array) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const isLfs = (file: string) => /\.(safetensors|gguf)$/.test(file);

export async function startHub(repos: Repos, options: HubServerOptions = {}): Promise<HubServer> {
  const log: Logged[] = [];
  const filesOf = (id: string, rev: string) => repos[`${id}@${rev}`] ?? (rev === "main" ? repos[id] : undefined);
  const meta = (file: string, bytes: Uint8Array) => ({
    size: options.announce?.[file]?.size ?? bytes.length,
    sha256: options.announce?.[file]?.sha256 ?? sha256(bytes),
  });

  function handle(req: IncomingMessage, res: ServerResponse): Logged {
    const entry: Logged = { method: req.method!, path: decodeURI(req.url!), range: req.headers.range ?? null, status: 200, bytes: 0 };
    const url = new URL(req.url!, "http://x");
    const parts = url.pathname.split("/").map(decodeURIComponent);
    const end = (status: number, body = "", headers: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, headers).end(req.method === "HEAD" ? undefined : body);
      return entry;
    };
    if (options.dist && url.pathname === "/") return end(200, "<!doctype html><title>hub</title><link rel=icon href=\"data:,\">", { "content-type": "text/html" });
    if (options.dist && parts[1] === "dist" && /^[\w.-]+\.js$/.test(parts[2] ?? "") && existsSync(join(options.dist, parts[2]))) {
      return end(200, readFileSync(join(options.dist, parts[2]), "utf8"), { "content-type": "text/javascript" });
    }
    if (parts[1] === "api" && parts[2] === "models" && parts[5] === "tree") {
      const files = options.api === false ? undefined : filesOf(`${parts[3]}/${parts[4]}`, parts[6]);
      if (!files) return end(404, JSON.stringify({ error: "Repository not found" }), { "content-type": "application/json" });
      const listing = Object.entries(files).map(([path, b]) => ({
        type: "file",
        path,
        oid: gitOid(b),
        size: isLfs(path) ? meta(path, b).size : b.length,
        ...(isLfs(path) ? { lfs: { oid: meta(path, b).sha256, size: meta(path, b).size, pointerSize: 134 } } : {}),
      }));
      return end(200, JSON.stringify(listing), { "content-type": "application/json" });
    }
    const lfs = parts[1] === "lfs";
    const [id, rev, file] = lfs
      ? [`${parts[2]}/${parts[3]}`, parts[4], parts.slice(5).join("/")]
      : [`${parts[1]}/${parts[2]}`, parts[4], parts.slice(5).join("/")];
    const bytes = (lfs || parts[3] === "resolve") && filesOf(id, rev)?.[file];
    if (!bytes) return end(404, "Entry not found", { "x-error-code": "EntryNotFound" });
    const failing = options.failWith;
    if (failing?.file === file && failing.times > 0 && req.method === "GET") return (failing.times--, end(failing.status, "Service Unavailable"));
    if (!lfs && isLfs(file)) {
      const m = meta(file, bytes);
      return end(302, "", {
        location: `/lfs/${id}/${encodeURIComponent(rev)}/${file}`,
        "x-linked-size": String(m.size),
        "x-linked-etag": `"${m.sha256}"`,
      });
    }
    let body = bytes;
    const headers: Record<string, string> = { etag: `"${lfs ? sha256(bytes) : gitOid(bytes)}"`, "accept-ranges": options.range === false ? "none" : "bytes" };
    if (options.gzip && file.endsWith(".json") && /gzip/.test(req.headers["accept-encoding"] ?? "")) {
      body = gzipSync(bytes);
      headers["content-encoding"] = "gzip";
      headers["accept-ranges"] = "none";
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range && options.range !== false && !headers["content-encoding"]) {
      const start = Number(range[1]);
      const last = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
      if (start >= bytes.length) return end(416, "", { "content-range": `bytes */${bytes.length}` });
      body = bytes.subarray(start, last + 1);
      headers["content-range"] = `bytes ${start}-${last}/${bytes.length}`;
      entry.status = 206;
    }
    headers["content-length"] = String(body.length);
    res.writeHead(entry.status, headers);
    if (req.method === "HEAD") return (res.end(), entry);
    const cut = options.breakOff;
    if (cut && cut.file === file && cut.times > 0 && body.length > cut.bytes) {
      cut.times--;
      entry.bytes = cut.bytes;
      res.write(body.subarray(0, cut.bytes), () => res.socket?.end());
      return entry;
    }
    entry.bytes = body.length;
    res.end(body);
    return entry;
  }

  const server = createServer((req, res) => log.push(handle(req, res)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    options,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Splits a safetensors file into `n` shards (tensors in header order) and the index that names them. */
export function shard(file: Uint8Array, n: number): Record<string, Uint8Array> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLen))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const out: Record<string, Uint8Array> = {};
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < n; s++) {
    const shardName = `model-${String(s + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
    const mine = names.filter((_, i) => i % n === s);
    const h: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (const name of mine) {
      const { dtype, shape, data_offsets: [b, e] } = header[name];
      chunks.push(file.subarray(8 + headerLen + b, 8 + headerLen + e));
      h[name] = { dtype, shape, data_offsets: [at, at + e - b] };
      at += e - b;
      weightMap[name] = shardName;
    }
    const json = new TextEncoder().encode(JSON.stringify(h));
    const bytes = new Uint8Array(8 + json.length + at);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    let p = 8 + json.length;
    for (const c of chunks) (bytes.set(c, p), (p += c.length));
    out[shardName] = bytes;
  }
  out["model.safetensors.index.json"] = new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return out;
}
