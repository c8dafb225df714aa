/**
 * Feeding long inputs with bounded memory: ids [B, T] go through the model in slices of at most `chunk`
 * positions, each continuing the cache of the one before. The model keeps one workspace per (B, slice length),
 * so the memory used does not depend on T; the final state equals one call's within float rounding (exactly the
 * same SSD chunking when `chunk` is a multiple of the config's chunk_size).
 */
import type { Tensor } from "./backend.js";
import type { Mamba2Cache } from "./cache.js";
import { fail } from "./errors.js";
import type { DeviceDraw, Mamba2Model } from "./model.js";

/** Tokens per model call while prefilling, unless an option says otherwise. */
export const DEFAULT_PREFILL_CHUNK = 2048;

export function checkPrefillChunk(chunk: number | undefined): number {
  const c = chunk ?? DEFAULT_PREFILL_CHUNK;
  if (!Number.isInteger(c) || c < 1) fail(`prefill chunk must be a positive integer, found ${c}`);
  return c;
}

/** Left-pads rows of different lengths; the mask marks the padding (null when no row is padded). */
export function leftPad(prompts: readonly (readonly number[])[], padId: number): { ids: number[][]; mask: number[][] | null } {
  const steps = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...Array<number>(steps - p.length).fill(padId), ...p]);
  const ragged = prompts.some((p) => p.length !== steps);
  const mask = ragged ? prompts.map((p) => [...Array<number>(steps - p.length).fill(0), ...Array<number>(p.length).fill(1)]) : null;
  return { ids, mask };
}

/** What the last slice returns: the argmax ids [B] picked on the device, or the logits [B, V]. */
export type Next = { readonly ids: Int32Array } | { readonly logits: Float32Array };

export interface FeedOptions {
  chunk: number;
  /** "ids": picked on the device (argmax, or drawn with `draw`), "logits": the last position's logits. */
  want: "ids" | "logits";
  /** With "ids": the draw to make on the device (called once, when the last slice runs); none: greedy. */
  draw?: () => DeviceDraw;
  /** Checked before each slice. */
  signal?: AbortSignal;
}

/** Feeds ids [B, T] (mask: 0 = absent) into `cache` slice by slice; returns the last position's `want`. */
export async function feed<T extends Tensor>(
  model: Mamba2Model<T>, ids: readonly (readonly number[])[], mask: readonly (readonly number[])[] | null,
  cache: Mamba2Cache<T>, o: FeedOptions,
): Promise<Next> {
  const steps = ids[0].length;
  for (let start = 0; ; start += o.chunk) {
    o.signal?.throwIfAborted();
    const end = Math.min(steps, start + o.chunk);
    const slice = ids.map((row) => row.slice(start, end));
    const sliceMask = mask?.map((row) => row.slice(start, end));
    if (end < steps) {
      await model.forward(slice, { cache, attentionMask: sliceMask, logits: "none" });
    } else if (o.want === "ids") {
      return { ids: await (o.draw ? model.nextSampled(slice, cache, o.draw(), sliceMask) : model.nextGreedy(slice, cache, sliceMask)) };
    } else {
      return { logits: await model.nextLogits(slice, cache, sliceMask) };
    }
  }
}
