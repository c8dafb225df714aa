import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { isHubId, loadOpened, openLoraAdapter, openModelFolder, uploadLora, type Backend, type Mamba2Model, type OnProgress } from "@mamba2/core";
import { openModelPath, openSource } from "@mamba2/core/node";
import { Mamba2Tokenizer } from "@mamba2/tokenizer";
import { hasTokenizer, loadTokenizer } from "@mamba2/tokenizer/node";
import { createRuntime, DEVICES, type Device } from "@mamba2/runtime/node";
import { type Flags, numberFlag, stringFlag, UsageError } from "./args.js";

/** The model shipped in the repository: used when --model is not given. */
export const BUNDLED_MODEL = fileURLToPath(new URL("../../../models/mamba2-shakespeare", import.meta.url));

/**
 * `--backend auto|webgpu|wasm|reference`, chosen by @mamba2/runtime: auto takes WebGPU on a hardware adapter
 * (Dawn, the `webgpu` package), else WASM, else the reference backend; an unavailable one fails with the reason.
 * `--threads N` spreads the WASM backend's big kernels over N threads.
 */
export async function backendFrom(flags: Flags): Promise<Backend> {
  const name = stringFlag(flags, "backend") ?? "auto";
  const threads = numberFlag(flags, "threads", { integer: true, min: 1, max: 64 }) ?? 1;
  if (!DEVICES.includes(name as Device)) throw new UsageError(`unknown backend '${name}' (available: ${DEVICES.join(", ")})`);
  if (threads > 1 && name !== "wasm" && name !== "auto") throw new UsageError(`--threads applies to the wasm backend, not ${name}`);
  return (await createRuntime({ device: name as Device, threads })).backend;
}

export interface Loaded {
  model: Mamba2Model;
  tokenizer: Mamba2Tokenizer | null;
  dir: string;
}

/** Flags of every command that takes --model: where a Hub id's files come from. */
export const SOURCE_FLAGS = ["revision", "endpoint"];

/** Flags of the commands that run a model of --model: the source flags and --adapter. */
export const MODEL_FLAGS = [...SOURCE_FLAGS, "adapter"];

/** Download progress on stderr: a line per second while a file downloads, and one when it is complete. */
function progressLines(): OnProgress {
  const size = (n: number, of: number) => (of >= 1e6 ? `${(n / 1e6).toFixed(1)}/${(of / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)}/${(of / 1e3).toFixed(1)} kB`);
  let last = Date.now();
  return (e) => {
    if (e.state === "pending" || e.state === "cached" || (e.state === "downloading" && Date.now() - last < 1000)) return;
    last = Date.now();
    const all = e.totalBytes > e.total ? ` (all files: ${size(e.totalLoaded, e.totalBytes)})` : "";
    process.stderr.write(`mamba2: ${e.file} ${e.state === "done" ? "fetched," : "fetching"} ${size(e.loaded, e.total)}${all}\n`);
  };
}

/** --model as a Hub id (--revision, --endpoint or $MAMBA2_ENDPOINT, $HF_TOKEN) or URL: downloads kept in $MAMBA2_CACHE. */
async function openRemote(source: string, flags: Flags, backend: Backend): Promise<Loaded> {
  const endpoint = stringFlag(flags, "endpoint") ?? (process.env.MAMBA2_ENDPOINT || undefined);
  const token = process.env.HF_TOKEN || undefined;
  const folder = await openSource(source, { revision: stringFlag(flags, "revision"), endpoint, token, onProgress: progressLines() });
  const opened = await openModelFolder(folder);
  const model = await loadOpened(opened, { backend });
  const embedded = opened.tokenizer && Mamba2Tokenizer.fromObjects(opened.tokenizer.json, opened.tokenizer.config);
  const tokenizer = (await folder.has("tokenizer.json")) ? await Mamba2Tokenizer.fromFolder(folder) : embedded;
  return { model, tokenizer, dir: folder.name };
}

/**
 * The model of --model (a folder or .gguf file, a Hub id or a URL; the bundled one by default) on --backend,
 * with its tokenizer when there is one, and the LoRA adapter of --adapter.
 */
export async function openModel(flags: Flags): Promise<Loaded> {
  const loaded = await openBase(flags);
  const adapter = stringFlag(flags, "adapter");
  // --adapter DIR (a folder, a Hub id or a URL): a PEFT LoRA adapter, applied at run time
  if (adapter) loaded.model.lora = uploadLora(loaded.model.backend, await openLoraAdapter(await openSource(adapter)), loaded.model.config);
  return loaded;
}

async function openBase(flags: Flags): Promise<Loaded> {
  const dir = stringFlag(flags, "model") ?? BUNDLED_MODEL;
  const backend = await backendFrom(flags);
  if (!existsSync(dir) && (/^https?:\/\//i.test(dir) || isHubId(dir))) return openRemote(dir, flags, backend);
  for (const f of SOURCE_FLAGS) if (flags[f] !== undefined) throw new UsageError(`--${f} applies to a Hub id or URL, not the folder ${dir}`);
  const opened = await openModelPath(dir);
  const model = await loadOpened(opened, { backend });
  // a folder's tokenizer.json, else the one a GGUF carries in its metadata
  const embedded = opened.tokenizer && Mamba2Tokenizer.fromObjects(opened.tokenizer.json, opened.tokenizer.config);
  const tokenizer = !dir.endsWith(".gguf") && hasTokenizer(dir) ? await loadTokenizer(dir) : embedded;
  return { model, tokenizer, dir };
}
