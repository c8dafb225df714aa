import { readFile } from "node:fs/promises";
import { perplexity } from "@mamba2/core";
import { type Flags, numberFlag, stringFlag, UsageError } from "./args.js";
import { openModel } from "./model.js";

export const PERPLEXITY_FLAGS = ["model", "file", "window", "max-tokens", "backend", "threads"];

export const PERPLEXITY_HELP = `mamba2 perplexity --model DIR --file TEXT [--window 256] [--max-tokens N] [--adapter DIR] [--backend auto|webgpu|wasm|reference]

Tokenizes the whole file, scores consecutive non-overlapping windows independently and prints
{"ppl", "mean_nll", "tokens", "windows"}. A window longer than the text scores it as one sequence (fed 2048
tokens at a time: memory does not grow with the length).`;

export async function perplexityCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  const file = stringFlag(flags, "file");
  if (file === undefined) throw new UsageError("perplexity needs --file TEXT");
  const window = numberFlag(flags, "window", { integer: true, min: 2 }) ?? 256;
  const maxTokens = numberFlag(flags, "max-tokens", { integer: true, min: 2 });
  const text = await readFile(file, "utf8").catch(() => {
    throw new UsageError(`${file}: no such file`);
  });
  const { model, tokenizer, dir } = await openModel(flags);
  if (!tokenizer) throw new UsageError(`${dir} has no tokenizer.json: perplexity needs one`);
  const ids = tokenizer.encode(text);
  const scored = maxTokens === undefined ? ids : ids.slice(0, maxTokens);
  if (scored.length < 2) throw new UsageError(`${file}: fewer than 2 tokens`);
  out(JSON.stringify(await perplexity(model, scored, window)) + "\n");
}
