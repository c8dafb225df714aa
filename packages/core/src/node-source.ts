/**
 * Node/Deno/Bun side of model sources: the download cache as a folder (`MAMBA2_CACHE`, else
 * `$XDG_CACHE_HOME/mamba2` or `~/.cache/mamba2`) with resumable `.part` files, and `loadModel` that also takes
 * a path on disk (a folder or a .gguf file) and keeps Hub downloads in that folder.
 */
import { createHash } from "node:crypto";
import { mkdir, open, rename, rm, stat, utimes } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "./backend.js";
import type { ByteSource } from "./bytes.js";
import type { CacheKey, DownloadCache } from "./download-cache.js";
import { fail } from "./errors.js";
import type { ModelFolder } from "./folder.js";
import { loadModelFromFolder, loadOpened } from "./formats.js";
import type { Sha256Hasher } from "./hub.js";
import type { LoadOptions, ModelFiles } from "./load.js";
import type { Mamba2Model } from "./model.js";
import { fileSource, nodeFolder, openModelPath } from "./node.js";
import { isModelFiles, loadModel as loadModelWeb, type ModelSource, openSource as openSourceWeb, remoteFolder, type SourceOptions } from "./source.js";

/** node:crypto's SHA-256 (native, with the CPU's SHA instructions) for checking downloads. */
export function nodeSha256(): Sha256Hasher {
  const hash = createHash("sha256");
  return { update: (chunk) => hash.update(chunk), hex: () => hash.digest("hex") };
}

export function defaultCacheDir(): string {
  const env = globalThis.process?.env ?? {};
  if (env.MAMBA2_CACHE) return env.MAMBA2_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mamba2");
}

/** A lock file not touched for this long belongs to a load that died: it is taken over. */
const STALE_LOCK_MS = 30_000;

/**
 * Downloads kept under `root`/hub/{endpoint host}/{org}/{name}/{revision}/{file}; an unfinished one is
 * `{file}.part`, which the next download of the file continues. `{file}.lock` (created exclusively, touched every
 * few seconds) keeps two processes from downloading the same file at once: the second waits, then finds it.
 */
export function fileCache(root = defaultCacheDir()): DownloadCache {
  const pathOf = (key: CacheKey) => {
    const host = key.endpoint.replace(/^https?:\/\//, "").replace(/[^A-Za-z0-9.-]/g, "_");
    return join(root, "hub", host, ...key.id.split("/"), encodeURIComponent(key.revision), ...key.file.split("/"));
  };
  const existing = async (path: string): Promise<ByteSource | null> =>
    (await stat(path).then((s) => s.isFile(), () => false)) ? fileSource(path) : null;
  return {
    name: root,
    async lock(key) {
      const path = pathOf(key) + ".lock";
      await mkdir(dirname(path), { recursive: true });
      for (;;) {
        const created = await open(path, "wx").then((fh) => fh.close().then(() => true), (e: NodeJS.ErrnoException) => {
          if (e.code !== "EEXIST") throw e;
          return false;
        });
        if (created) break;
        const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > STALE_LOCK_MS) await rm(path, { force: true });
        else await new Promise((r) => setTimeout(r, 200));
      }
      const beat = setInterval(() => void utimes(path, new Date(), new Date()).catch(() => {}), STALE_LOCK_MS / 6);
      beat.unref?.();
      return async () => {
        clearInterval(beat);
        await rm(path, { force: true });
      };
    },
    get: (key) => existing(pathOf(key)),
    partial: (key) => existing(pathOf(key) + ".part"),
    async writer(key, offset) {
      const path = pathOf(key);
      const part = path + ".part";
      await mkdir(dirname(part), { recursive: true });
      const fh = await open(part, offset > 0 ? "r+" : "w");
      await fh.truncate(offset);
      let at = offset;
      let closed = false;
      const close = async () => {
        if (!closed) await fh.close();
        closed = true;
      };
      return {
        async write(chunk) {
          for (let done = 0; done < chunk.length; ) {
            const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, at);
            done += bytesWritten;
            at += bytesWritten;
          }
        },
        close,
        async commit() {
          await close();
          await rename(part, path);
          return fileSource(path);
        },
        async discard() {
          await close();
          await rm(part, { force: true });
        },
      };
    },
  };
}

/** A file: URL as its path; anything else as it is. */
const asPath = <S>(source: S): S | string => (source instanceof URL && source.protocol === "file:" ? fileURLToPath(source) : source);

/** The folder a source names, with Hub downloads in the cache folder: a path on disk, a URL, a Hub id, …. */
export async function openSource(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions = {}): Promise<ModelFolder> {
  const cached = { ...options, cache: options.cache ?? fileCache(), sha256: options.sha256 ?? nodeSha256 };
  source = asPath(source);
  if (typeof source === "string") {
    if (await stat(source).then((s) => s.isDirectory(), () => false)) return nodeFolder(source, options);
    return remoteFolder(source, cached) ?? fail(`${source}: no such folder, nor an http(s) URL or a Hub id ("org/name")`);
  }
  return openSourceWeb(source, cached);
}

/**
 * `loadModel` of the main entry, plus paths on disk and file: URLs (a model folder of any format, or a .gguf
 * file; a path that exists wins over a Hub id of the same spelling) and Hub downloads kept in the cache folder.
 */
export async function loadModel<T extends Tensor = Tensor>(source: ModelSource, options: LoadOptions<T> & SourceOptions = {}): Promise<Mamba2Model<T>> {
  source = asPath(source);
  if (typeof source === "string") {
    const found = await stat(source).then((s) => s, () => null);
    if (found?.isDirectory()) return loadModelFromFolder(nodeFolder(source, options), options);
    if (found) return loadOpened(await openModelPath(source), options);
  }
  if (isModelFiles(source)) return loadModelWeb(source, options);
  return loadModelWeb(await openSource(source, options), options);
}
