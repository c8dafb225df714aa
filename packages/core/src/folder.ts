/**
 * A model's files wherever they are — a folder on disk, a URL prefix, a Hub repository, dropped `File`s — seen
 * the same way, so that format detection (config.json, params.json, *.gguf) and loading never care where the
 * bytes come from. Implementations: `nodeFolder` (./node), `urlFolder`, `hubFolder`, `filesFolder`.
 */
import type { ByteSource } from "./bytes.js";

export interface ModelFolder {
  /** For messages: a path, a URL or a Hub id. */
  readonly name: string;
  /** Whether the file exists (a relative path such as "config.json" or "shards/model-00001.safetensors"). */
  has(file: string): Promise<boolean>;
  /** The file as lazily read bytes; fails with a one-line error naming the file when it is missing. */
  source(file: string): Promise<ByteSource>;
  /** The whole file as UTF-8 text. */
  text(file: string): Promise<string>;
  /** File names, where the place can list them (a folder, dropped files); null where it cannot (a plain URL). */
  list(): Promise<readonly string[] | null>;
}
