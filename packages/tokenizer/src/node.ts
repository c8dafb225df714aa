// Node entry: load a tokenizer from a model folder on disk.
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Mamba2Tokenizer } from "./index.js";
import { oneLine, parseJson, TokenizerError } from "./json.js";

export * from "./index.js";

/** Reads tokenizer.json and (optional) tokenizer_config.json from `dir`. */
export async function loadTokenizer(dir: string | URL): Promise<Mamba2Tokenizer> {
  const root = toPath(dir);
  const [json, config] = await Promise.all([
    readJson(join(root, "tokenizer.json"), false),
    readJson(join(root, "tokenizer_config.json"), true),
  ]);
  return Mamba2Tokenizer.fromObjects(json, config);
}

/** True when `dir` contains a tokenizer.json file. */
export function hasTokenizer(dir: string | URL): boolean {
  return statSync(join(toPath(dir), "tokenizer.json"), { throwIfNoEntry: false })?.isFile() ?? false;
}

function toPath(dir: string | URL): string {
  return dir instanceof URL ? fileURLToPath(dir) : dir;
}

async function readJson(path: string, optional: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && optional) return {};
    if (code === "ENOENT") throw new TokenizerError(`Tokenizer file not found: ${path}`);
    throw new TokenizerError(`Cannot read ${path}: ${oneLine(err)}`);
  }
  return parseJson(text, path);
}
