/** Node-only helpers: models from folders, files read lazily through a file handle. */
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Tensor } from "./backend.js";
import type { ByteSource } from "./bytes.js";
import { parseConfig, type Mamba2Config } from "./config.js";
import { fail } from "./errors.js";
import { parseJson } from "./json.js";
import { buildModel, openSafetensors, type LoadOptions } from "./load.js";
import type { Mamba2Model } from "./model.js";
import type { TensorStore } from "./weights.js";

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

async function readText(path: string): Promise<string> {
  return readFile(path, "utf8").catch(() => fail(`${path}: no such file`));
}

export async function readConfig(dir: string): Promise<Mamba2Config> {
  const path = join(dir, "config.json");
  return parseConfig(await readText(path), path);
}

/** The weights of a folder: model.safetensors, or the shards listed in model.safetensors.index.json. */
export async function openWeights(dir: string): Promise<TensorStore> {
  const single = join(dir, "model.safetensors");
  const index = join(dir, "model.safetensors.index.json");
  if (await stat(single).then(() => true, () => false)) return openSafetensors([await fileSource(single)]);
  if (!(await stat(index).then(() => true, () => false))) fail(`${dir}: no model.safetensors nor model.safetensors.index.json`);
  const parsed = parseJson(await readText(index), index) as { weight_map?: Record<string, string> };
  if (!parsed || typeof parsed.weight_map !== "object") fail(`${index}: no weight_map`);
  const shards = [...new Set(Object.values(parsed.weight_map))];
  return openSafetensors(await Promise.all(shards.map((s) => fileSource(join(dir, s)))));
}

/** Loads the Hugging Face folder `dir` (config.json + safetensors). */
export async function loadModelFromDir<T extends Tensor = Tensor>(dir: string, options: LoadOptions<T> = {}): Promise<Mamba2Model<T>> {
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) fail(`${dir}: not a model folder`);
  return buildModel(await readConfig(dir), await openWeights(dir), options);
}
