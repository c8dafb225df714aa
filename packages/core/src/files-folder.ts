/**
 * A model folder from `File` objects: an `<input type="file" webkitdirectory>` selection, a drop, or files picked
 * one by one. A file's path is its `webkitRelativePath` without the first component (the picked folder), else its
 * name. Reads are lazy (`Blob.slice`).
 */
import { blobSource } from "./bytes.js";
import { fail } from "./errors.js";
import type { ModelFolder } from "./folder.js";
import { type OnProgress, ProgressTracker, trackedSource } from "./progress.js";

export interface FilesFolderOptions {
  /** Progress of the bytes read from each file. */
  onProgress?: OnProgress;
}

export function filesFolder(files: ArrayLike<File> | Iterable<File>, options: FilesFolderOptions = {}): ModelFolder {
  const byPath = new Map<string, File>();
  for (const f of Array.from(files as Iterable<File>)) {
    const relative = f.webkitRelativePath ? f.webkitRelativePath.split("/").slice(1).join("/") : "";
    const path = relative || f.name;
    if (byPath.has(path)) fail(`two files named ${path} among the ${Array.from(files as Iterable<File>).length} files given`);
    byPath.set(path, f);
  }
  const tracker = new ProgressTracker(options.onProgress);
  // For messages: the picked folder's name, else the files' names.
  const roots = new Set(Array.from(files as Iterable<File>, (f) => f.webkitRelativePath?.split("/")[0] ?? ""));
  const name = roots.size === 1 && !roots.has("") ? [...roots][0] : `files ${[...byPath.keys()].slice(0, 3).join(", ")}${byPath.size > 3 ? ", …" : ""}`;
  const get = (file: string) => byPath.get(file) ?? fail(`${file}: not among the files given (${[...byPath.keys()].join(", ")})`);
  return {
    name,
    has: async (file) => byPath.has(file),
    async source(file) {
      const f = get(file);
      const progress = tracker.file(file, f.size);
      if (f.size === 0) progress.done();
      return trackedSource(blobSource(f, file), progress);
    },
    async text(file) {
      const f = get(file);
      const progress = tracker.file(file, f.size);
      const text = await f.text();
      progress.done();
      return text;
    },
    list: async () => [...byPath.keys()],
  };
}
