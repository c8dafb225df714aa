/** Node-only helpers: models from folders and .gguf files, read lazily through a file handle. */
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Tensor } from "./backend.js";
import type { ByteSource } from "./bytes.js";
import { fail } from "./errors.js";
import type { ModelFolder } from "./folder.js";
import { type OnProgress, ProgressTracker, trackedSource } from "./progress.js";
import { loadOpened, openGgufModel, openModelFolder, type OpenedModel } from "./formats.js";
import type { LoadOptions } from "./load.js";
import type { Mamba2Model } from "./model.js";

/** A file as a ByteSource; each read opens, reads and closes, so nothing stays open. */
export async function fileSource(path: string): Promise<ByteSource> {
  const size = await stat(path).then((s) => s.size, () => fail(`${path}: no such file`));
  return {
    name: path,
    size,
    async read(offset, length) {
      const fh = await open(path, "r");
      try {
        const buf = new Uint8Array(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        if (bytesRead !== length) fail(`${path}: short read (${bytesRead} of ${length} bytes at ${offset})`);
        return buf;
      } finally {
        await fh.close();
      }
    },
  };
}

/**
 * A folder on disk as a ModelFolder: files read lazily through fileSource; `list()` gives the names in the
 * folder itself (not its subfolders).
 */
export function nodeFolder(dir: string, options: { onProgress?: OnProgress } = {}): ModelFolder {
  const path = (file: string) => join(dir, file);
  const tracker = new ProgressTracker(options.onProgress);
  return {
    name: dir,
    has: (file) => stat(path(file)).then((s) => s.isFile(), () => false),
    async source(file) {
      const source = await fileSource(path(file));
      const progress = tracker.file(file, source.size);
      if (source.size === 0) progress.done();
      return trackedSource(source, progress);
    },
    async text(file) {
      const text = await readFile(path(file), "utf8").catch(() => fail(`${path(file)}: no such file`));
      tracker.file(file, Buffer.byteLength(text)).done();
      return text;
    },
    list: () => readdir(dir, { withFileTypes: true }).then((es) => es.filter((e) => e.isFile()).map((e) => e.name), () => fail(`${dir}: cannot list the folder`)),
  };
}

/** Opens the model at `path`: a folder of any supported format (see formats.ts) or a .gguf file. */
export async function openModelPath(path: string): Promise<OpenedModel> {
  const s = await stat(path).catch(() => fail(`${path}: not a model folder (no such file or folder)`));
  if (s.isDirectory()) return openModelFolder(nodeFolder(path));
  if (path.endsWith(".gguf")) return openGgufModel(await fileSource(path));
  return fail(`${path}: not a model folder nor a .gguf file`);
}

/**
 * Loads the model at `path`: a transformers, mamba_ssm or Mistral folder, a folder holding one .gguf file, or a
 * .gguf file. The gated norm follows the format unless `groupedGatedNorm` is given.
 */
export async function loadModelFromDir<T extends Tensor = Tensor>(path: string, options: LoadOptions<T> = {}): Promise<Mamba2Model<T>> {
  return loadOpened(await openModelPath(path), options);
}

export { defaultCacheDir, fileCache, loadModel, nodeSha256, openSource } from "./node-source.js";
