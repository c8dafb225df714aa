import { parseArgs } from "node:util";
import { Mamba2Error } from "@mamba2/core";

/** A bad command line: reported as one line on stderr, exit code 2. */
export class UsageError extends Mamba2Error {
  override name = "UsageError";
}

export type Flags = Record<string, string | boolean | undefined>;

/** Parses `--name value` / `--name=value` flags; unknown flags and stray arguments are usage errors. */
export function parseFlags(argv: string[], strings: readonly string[], booleans: readonly string[] = []): Flags {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const s of strings) options[s] = { type: "string" };
  for (const b of booleans) options[b] = { type: "boolean" };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true, allowNegative: false });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    return values as Flags;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.split("\n")[0].replace(/\. To specify a positional.*$/, ""));
  }
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = str(flags, name);
  if (v === "") throw new UsageError(`--${name} needs a value`);
  return v;
}

export function numberFlag(flags: Flags, name: string, check: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  const { integer = false, min = -Infinity, max = Infinity } = check;
  const kind = integer ? "an integer" : "a number";
  if (v.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${kind}, found '${v}'`);
  if (n < min || n > max) throw new UsageError(`--${name} must be ${kind} in [${min}, ${max}], found ${v}`);
  return n;
}

/** "1,2,3" → [[1,2,3]]; "1,2;3" → [[1,2],[3]] (rows of a batch). */
export function parseIds(text: string): number[][] {
  return text.split(";").map((row, r) => {
    const parts = row.split(",").map((s) => s.trim());
    if (parts.length === 1 && parts[0] === "") throw new UsageError(`--ids: row ${r} is empty`);
    return parts.map((p) => {
      if (!/^\d+$/.test(p)) throw new UsageError(`--ids: '${p}' in row ${r} is not a token id (non-negative integer)`);
      return Number(p);
    });
  });
}
