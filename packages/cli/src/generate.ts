import { readFile } from "node:fs/promises";
import type { CompleteOptions } from "@mamba2/core";
import { type Flags, numberFlag, parseIds, stringFlag, UsageError } from "./args.js";
import { openModel } from "./model.js";
import { loadStateFile, saveStateFile } from "./state-file.js";

export const GENERATE_FLAGS = [
  "model", "prompt", "prompt-file", "ids", "max-new-tokens", "temperature", "top-k", "top-p", "min-p", "repetition-penalty",
  "presence-penalty", "frequency-penalty", "seed", "stop", "prefill-chunk", "save-state", "load-state", "backend", "threads",
];

export const GENERATE_HELP = `mamba2 generate [--model DIR] (--prompt TEXT | --prompt-file FILE | --ids "1,2,3" | --ids "1,2,3;4,5")
  [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R]
  [--presence-penalty X] [--frequency-penalty X] [--seed S] [--stop TEXT] [--ignore-eos] [--prefill-chunk N]
  [--load-state FILE] [--save-state FILE] [--logprobs] [--adapter DIR] [--backend auto|webgpu|wasm|reference] [--threads N] [--json]

Streams the continuation of the prompt. --temperature 0 is greedy (the default: 0.8 with top-p 0.95). A row ends
at the model's EOS token (emitted) unless --ignore-eos, or at the text --stop (not printed).
Several ';'-separated id lists form one left-padded batch. The prompt is fed --prefill-chunk tokens at a time
(default 2048), so any length runs in bounded memory.
--save-state FILE writes the state at the end; --load-state FILE continues from it (then the prompt is optional
and is appended; without --seed the saved random generators go on), exactly as one uninterrupted run.
--json prints one object: {tokens, text, backend, prefill_tokens_per_s, decode_tokens_per_s}, with
--logprobs also logprobs (each new token's log-probability under the model).`;

export async function generateCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  const prompt = stringFlag(flags, "prompt");
  const promptFile = stringFlag(flags, "prompt-file");
  const idsText = stringFlag(flags, "ids");
  const loadState = stringFlag(flags, "load-state");
  const saveState = stringFlag(flags, "save-state");
  const stop = stringFlag(flags, "stop");
  const inputs = [prompt, promptFile, idsText].filter((v) => v !== undefined).length;
  if (inputs > 1 || (inputs === 0 && loadState === undefined)) {
    throw new UsageError("generate needs exactly one of --prompt or --ids (or --prompt-file; with --load-state, at most one)");
  }
  const seed = numberFlag(flags, "seed", { integer: true, min: 0, max: 2 ** 32 - 1 });
  const options: CompleteOptions = {
    maxNewTokens: numberFlag(flags, "max-new-tokens", { integer: true, min: 0 }) ?? 64,
    temperature: numberFlag(flags, "temperature", { min: 0 }) ?? 0.8,
    topK: numberFlag(flags, "top-k", { integer: true, min: 0 }) ?? 0,
    topP: numberFlag(flags, "top-p", { min: Number.MIN_VALUE, max: 1 }) ?? 0.95,
    minP: numberFlag(flags, "min-p", { min: 0, max: 1 }) ?? 0,
    repetitionPenalty: numberFlag(flags, "repetition-penalty", { min: 0 }) ?? 1,
    presencePenalty: numberFlag(flags, "presence-penalty") ?? 0,
    frequencyPenalty: numberFlag(flags, "frequency-penalty") ?? 0,
    // a loaded state keeps its generators unless a seed is given
    seed: seed ?? (loadState === undefined ? Math.floor(Math.random() * 2 ** 32) : undefined),
    prefillChunk: numberFlag(flags, "prefill-chunk", { integer: true, min: 1 }),
    logprobs: flags.logprobs === true,
    ...(stop !== undefined ? { stop } : {}),
    ...(flags["ignore-eos"] === true ? { eosTokenId: null } : {}),
  };
  const { model, tokenizer, dir } = await openModel(flags);
  if (!tokenizer && idsText === undefined && inputs > 0) throw new UsageError(`${dir} has no tokenizer.json: use --ids`);
  if (!tokenizer && stop !== undefined) throw new UsageError(`${dir} has no tokenizer.json: --stop needs one`);
  const text = promptFile !== undefined ? await readFile(promptFile, "utf8").catch(() => {
    throw new UsageError(`${promptFile}: no such file`);
  }) : prompt;
  const prompts = idsText !== undefined ? parseIds(idsText) : text !== undefined ? [tokenizer!.encode(text)] : undefined;
  if (prompts && prompts[0].length === 0) throw new UsageError(`--${promptFile !== undefined ? "prompt-file" : "prompt"} encodes to no tokens`);
  const session = model.createSession();
  if (loadState !== undefined) await loadStateFile(session, loadState);
  const batch = prompts?.length ?? session.batch;
  const json = flags.json === true;
  const stream = tokenizer !== null && batch === 1 && !json;
  if (stream && prompt !== undefined) out(prompt);

  const start = performance.now();
  let prefillEnd: number | null = null;
  const result = await session.complete(prompts, {
    ...options,
    decoder: tokenizer ?? undefined,
    onDelta: (d) => {
      prefillEnd ??= performance.now();
      if (stream) out(d.text);
    },
  });
  const end = performance.now();
  if (stream) out("\n");
  if (saveState !== undefined) await saveStateFile(session, saveState);

  const steps = Math.max(...result.tokens.map((row) => row.length));
  const promptTokens = prompts ? batch * Math.max(...prompts.map((p) => p.length)) : 0;
  const decodeTokens = batch * Math.max(0, steps - 1);
  const texts = result.text.map((t) => (tokenizer ? t : null));
  const one = <V>(rows: V[]) => (batch === 1 ? rows[0] : rows);
  const report = {
    tokens: one(result.tokens),
    text: one(texts),
    backend: model.backend.name,
    prefill_tokens_per_s: prefillEnd !== null && promptTokens > 0 ? promptTokens / ((prefillEnd - start) / 1000) : null,
    decode_tokens_per_s: prefillEnd !== null && decodeTokens > 0 ? decodeTokens / ((end - prefillEnd) / 1000) : null,
    ...(result.logprobs ? { logprobs: one(result.logprobs) } : {}),
  };
  if (json) out(JSON.stringify(report) + "\n");
  else if (!stream) result.tokens.forEach((row, b) => out(`[${b}] ${texts[b] ?? row.join(",")}\n`));
}
