/**
 * One entry for every place a model can be: `loadModel(source, options)` with a URL, a Hub id ("org/name"),
 * `File`s, a ModelFolder, or a config + weights in memory (`ModelFiles`). Folder paths are `@mamba2/core/node`'s.
 */
import type { Tensor } from "./backend.js";
import { fail } from "./errors.js";
import { filesFolder } from "./files-folder.js";
import type { ModelFolder } from "./folder.js";
import { loadModelFromFolder } from "./formats.js";
import { hubFolder, isHubId, type HubOptions } from "./hub.js";
import { loadModel as loadModelFiles, type LoadOptions, type ModelFiles } from "./load.js";
import type { Mamba2Model } from "./model.js";
import { urlFolder } from "./url-folder.js";

export type ModelSource = string | URL | ModelFolder | ModelFiles | File | ArrayLike<File> | Iterable<File>;

/** Where and how files are fetched: the Hub's revision, endpoint, cache and token, progress, retries. */
export type SourceOptions = HubOptions;

export function isModelFolder(x: unknown): x is ModelFolder {
  const f = x as ModelFolder;
  return typeof f === "object" && f !== null && typeof f.has === "function" && typeof f.source === "function" && typeof f.text === "function" && typeof f.list === "function";
}

export function isModelFiles(x: unknown): x is ModelFiles {
  return typeof x === "object" && x !== null && "config" in x && "weights" in x;
}

/** A URL or Hub id string as a folder; null for anything else (a path, for the Node entry to try). */
export function remoteFolder(source: string | URL, options: SourceOptions = {}): ModelFolder | null {
  if (source instanceof URL || /^https?:\/\//i.test(source)) {
    const headers: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {};
    return urlFolder(source, { onProgress: options.onProgress, fetch: options.fetch, headers });
  }
  return isHubId(source) ? hubFolder(source, options) : null;
}

/** The folder a source names: a URL, a Hub id, `File`s, or a ModelFolder as it is. */
export function openSource(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions = {}): ModelFolder {
  if (isModelFolder(source)) return source;
  if (typeof source === "string" || source instanceof URL) {
    return remoteFolder(source, options) ?? fail(`${JSON.stringify(String(source))}: neither an http(s) URL nor a Hub id ("org/name"); folder paths need loadModel from @mamba2/core/node`);
  }
  if (typeof File !== "undefined" && source instanceof File) return filesFolder([source], options);
  const items = Array.from(source as ArrayLike<File>);
  if (items.length > 0 && items.every((f) => typeof File !== "undefined" && f instanceof File)) return filesFolder(items, options);
  return fail(`not a model source: expected a URL, a Hub id, File objects, a ModelFolder or { config, weights }`);
}

/**
 * Loads a model from a URL (`https://host/path/to/folder/`), a Hub id (`org/name`, with `revision`), `File`s,
 * a ModelFolder, or `{ config, weights }` in memory. Formats are detected from the files (see formats.ts).
 */
export async function loadModel<T extends Tensor = Tensor>(source: ModelSource, options: LoadOptions<T> & SourceOptions = {}): Promise<Mamba2Model<T>> {
  if (isModelFiles(source)) return loadModelFiles(source, options);
  return loadModelFromFolder(openSource(source, options), options);
}
