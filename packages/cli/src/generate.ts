import { generate, type GenerationStep } from "@mamba2/core";
import { type Flags, numberFlag, parseIds, stringFlag, UsageError } from "./args.js";
import { openModel } from "./model.js";

export const GENERATE_FLAGS = ["model", "prompt", "ids", "max-new-tokens", "temperature", "top-k", "top-p", "seed", "backend", "threads"];

export const GENERATE_HELP = `mamba2 generate [--model DIR] (--prompt TEXT | --ids "1,2,3" | --ids "1,2,3;4,5")
  [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--ignore-eos]
  [--backend auto|wasm|reference] [--threads N] [--json]

Streams the continuation of the prompt. --temperature 0 is greedy (the default: 0.8 with top-p 0.95). A row ends
at the model's EOS token (emitted) unless --ignore-eos.
Several ';'-separated id lists form one left-padded batch. --json prints one object:
{tokens, text, backend, prefill_tokens_per_s, decode_tokens_per_s}.`;

export async function generateCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  const prompt = stringFlag(flags, "prompt");
  const idsText = stringFlag(flags, "ids");
  if ((prompt === undefined) === (idsText === undefined)) throw new UsageError("generate needs exactly one of --prompt or --ids");
  const options = {
    maxNewTokens: numberFlag(flags, "max-new-tokens", { integer: true, min: 0 }) ?? 64,
    temperature: numberFlag(flags, "temperature", { min: 0 }) ?? 0.8,
    topK: numberFlag(flags, "top-k", { integer: true, min: 0 }) ?? 0,
    topP: numberFlag(flags, "top-p", { min: Number.MIN_VALUE, max: 1 }) ?? 0.95,
    seed: numberFlag(flags, "seed", { integer: true, min: 0, max: 2 ** 32 - 1 }) ?? Math.floor(Math.random() * 2 ** 32),
    ...(flags["ignore-eos"] === true ? { eosTokenId: null } : {}),
  };
  const { model, tokenizer, dir } = await openModel(flags);
  if (prompt !== undefined && !tokenizer) throw new UsageError(`${dir} has no tokenizer.json: use --ids`);
  const prompts = idsText !== undefined ? parseIds(idsText) : [tokenizer!.encode(prompt!)];
  if (prompts[0].length === 0) throw new UsageError("--prompt encodes to no tokens");
  const json = flags.json === true;
  const batch = prompts.length;
  const streamers = tokenizer && batch === 1 && !json ? [tokenizer.createStreamDecoder()] : null;
  if (streamers && prompt !== undefined) out(prompt);

  const tokens: number[][] = prompts.map(() => []);
  const start = performance.now();
  let prefillEnd = start;
  let steps = 0;
  for await (const step of generate(model, prompts, options) as AsyncIterable<GenerationStep>) {
    if (steps === 0) prefillEnd = performance.now();
    steps++;
    step.tokens.forEach((t, b) => {
      if (t === null) return;
      tokens[b].push(t);
      if (streamers) out(streamers[0].push(t));
    });
  }
  const end = performance.now();
  if (streamers) out(streamers[0].flush() + "\n");

  const texts = tokens.map((row) => (tokenizer ? tokenizer.decode(row) : null));
  const promptTokens = batch * Math.max(...prompts.map((p) => p.length));
  const decodeTokens = batch * Math.max(0, steps - 1);
  const result = {
    tokens: batch === 1 ? tokens[0] : tokens,
    text: batch === 1 ? texts[0] : texts,
    backend: model.backend.name,
    prefill_tokens_per_s: steps > 0 ? promptTokens / ((prefillEnd - start) / 1000) : null,
    decode_tokens_per_s: decodeTokens > 0 ? decodeTokens / ((end - prefillEnd) / 1000) : null,
  };
  if (json) out(JSON.stringify(result) + "\n");
  else if (!streamers) tokens.forEach((row, b) => out(`[${b}] ${texts[b] ?? row.join(",")}\n`));
}
