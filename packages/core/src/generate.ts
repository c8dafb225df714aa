import type { Tensor } from "./backend.js";
import type { Mamba2Model, TokenIds } from "./model.js";
import type { GenerateOptions, GenerationDelta } from "./session.js";

/** `model.generate(prompt, options)`: streams `{row, token, text}` deltas from the empty state. */
export function generate<T extends Tensor>(model: Mamba2Model<T>, prompt: TokenIds, options: GenerateOptions = {}): AsyncGenerator<GenerationDelta, void, undefined> {
  return model.generate(prompt, options);
}

/** Runs a generation from the empty state to the end: the new tokens of each row. */
export async function generateAll<T extends Tensor>(model: Mamba2Model<T>, prompt: TokenIds, options: GenerateOptions = {}): Promise<number[][]> {
  const session = model.createSession();
  try {
    return (await session.complete(prompt, options)).tokens;
  } finally {
    session.free();
  }
}
