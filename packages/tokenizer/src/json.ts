/** Every error the tokenizer raises on bad input: one line naming the file, URL or id. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
}

// Internal: JSON parsing with a one-line error that names the source.
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TokenizerError(`Invalid JSON in ${source}: ${oneLine(err)}`);
  }
}

export function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ");
}
