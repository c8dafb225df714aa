import type { Tensor } from "./backend.js";
import { eosIds } from "./config.js";
import { fail } from "./errors.js";
import type { Mamba2Model, TokenIds } from "./model.js";
import { checkSampling, Rng, sampleToken, type SamplingOptions } from "./sampling.js";

export interface GenerateOptions extends SamplingOptions {
  /** How many tokens to generate at most (default 32). */
  maxNewTokens?: number;
  /** Ids that end a row (default: the config's eos_token_id); the EOS token itself is emitted. */
  eosTokenId?: number | readonly number[] | null;
}

/** One decoding step: the new token of each row, or null for a row that already ended. */
export interface GenerationStep {
  readonly tokens: readonly (number | null)[];
}

/** Left-pads rows of different lengths; the mask marks the padding (null when no row is padded). */
export function leftPad(prompts: readonly (readonly number[])[], padId: number): { ids: number[][]; mask: number[][] | null } {
  const steps = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...Array<number>(steps - p.length).fill(padId), ...p]);
  const ragged = prompts.some((p) => p.length !== steps);
  const mask = ragged ? prompts.map((p) => [...Array<number>(steps - p.length).fill(0), ...Array<number>(p.length).fill(1)]) : null;
  return { ids, mask };
}

/**
 * Generates from one prompt or a batch of prompts of different lengths (left-padded; each row gives exactly
 * what it gives alone). Prefill in one forward, then one cached step per token.
 */
export async function* generate<T extends Tensor>(model: Mamba2Model<T>, prompt: TokenIds, options: GenerateOptions = {}): AsyncGenerator<GenerationStep> {
  const prompts = (prompt.length > 0 && typeof prompt[0] === "number" ? [prompt] : prompt) as (readonly number[])[];
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) fail("generate: every prompt needs at least one token");
  const maxNew = options.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNew) || maxNew < 0) fail(`max new tokens must be an integer >= 0, found ${maxNew}`);
  checkSampling(options);
  const eos = options.eosTokenId === undefined ? eosIds(model.config) : options.eosTokenId === null ? [] : [options.eosTokenId].flat();
  const greedy = !options.temperature;
  const rng = new Rng(options.seed ?? 0);
  const { ids, mask } = leftPad(prompts, model.config.pad_token_id ?? 0);
  const cache = model.createCache(prompts.length);
  const done = prompts.map(() => false);
  try {
    let input: number[][] = ids;
    let inputMask = mask ?? undefined;
    for (let step = 0; step < maxNew; step++) {
      const next = greedy ? Array.from(await model.nextGreedy(input, cache, inputMask)) : await sampleRows(model, input, cache, inputMask, options, rng);
      const tokens = next.map((t, b) => (done[b] ? null : t));
      tokens.forEach((t, b) => {
        if (t !== null && eos.includes(t)) done[b] = true;
      });
      yield { tokens };
      if (done.every(Boolean)) break;
      input = next.map((t) => [t]);
      inputMask = undefined;
    }
  } finally {
    cache.free();
  }
}

async function sampleRows<T extends Tensor>(model: Mamba2Model<T>, input: number[][], cache: ReturnType<Mamba2Model<T>["createCache"]>, mask: number[][] | undefined, o: SamplingOptions, rng: Rng): Promise<number[]> {
  const logits = await model.nextLogits(input, cache, mask);
  const v = model.dims.vocab;
  return input.map((_, b) => sampleToken(logits.subarray(b * v, (b + 1) * v), o, rng));
}

/** Runs `generate` to the end: the new tokens of each row. */
export async function generateAll<T extends Tensor>(model: Mamba2Model<T>, prompt: TokenIds, options: GenerateOptions = {}): Promise<number[][]> {
  const rows: number[][] = [];
  for await (const step of generate(model, prompt, options)) {
    step.tokens.forEach((t, b) => {
      rows[b] ??= [];
      if (t !== null) rows[b].push(t);
    });
  }
  return rows;
}
