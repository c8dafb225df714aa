import { fileURLToPath } from "node:url";
import { createReferenceBackend, type Backend, type Mamba2Model } from "@mamba2/core";
import { loadModelFromDir } from "@mamba2/core/node";
import type { Mamba2Tokenizer } from "@mamba2/tokenizer";
import { hasTokenizer, loadTokenizer } from "@mamba2/tokenizer/node";
import { createWasmBackend } from "@mamba2/wasm-kernels";
import { type Flags, numberFlag, stringFlag, UsageError } from "./args.js";

/** The model shipped in the repository: used when --model is not given. */
export const BUNDLED_MODEL = fileURLToPath(new URL("../../../models/mamba2-shakespeare", import.meta.url));

const BACKENDS: Record<string, (threads: number) => Backend | Promise<Backend>> = {
  wasm: (threads) => createWasmBackend({ threads }),
  reference: createReferenceBackend,
};
export const BACKEND_NAMES = ["auto", ...Object.keys(BACKENDS)];

/**
 * `--backend`: auto picks the fastest backend this runtime has (WebAssembly, else the reference);
 * `--threads N` spreads the WASM backend's big kernels over N threads.
 */
export async function backendFrom(flags: Flags): Promise<Backend> {
  const name = stringFlag(flags, "backend") ?? "auto";
  const threads = numberFlag(flags, "threads", { integer: true, min: 1, max: 64 }) ?? 1;
  const chosen = name === "auto" ? (typeof WebAssembly === "object" ? "wasm" : "reference") : name;
  const make = BACKENDS[chosen];
  if (!make) throw new UsageError(`unknown backend '${name}' (available: ${BACKEND_NAMES.join(", ")})`);
  if (threads > 1 && chosen !== "wasm") throw new UsageError(`--threads applies to the wasm backend, not ${chosen}`);
  return make(threads);
}

export interface Loaded {
  model: Mamba2Model;
  tokenizer: Mamba2Tokenizer | null;
  dir: string;
}

/** The model of --model (or the bundled one) on --backend, with its tokenizer when the folder has one. */
export async function openModel(flags: Flags): Promise<Loaded> {
  const dir = stringFlag(flags, "model") ?? BUNDLED_MODEL;
  const backend = await backendFrom(flags);
  const model = await loadModelFromDir(dir, { backend });
  const tokenizer = hasTokenizer(dir) ? await loadTokenizer(dir) : null;
  return { model, tokenizer, dir };
}
