import { type Mamba2Config as ConfigJson, parseConfig } from "../config.js";
import { fail } from "../errors.js";
import { parseJson, stringifyJson } from "../json.js";

type Camel<S extends string> = S extends `${infer H}_${infer R}` ? `${H}${Capitalize<Camel<R>>}` : S;

/** transformers' Mamba2Config fields under their camelCase names (`n_groups` → `nGroups`). */
export type Mamba2ConfigFields = { readonly [K in keyof ConfigJson as Camel<K & string>]: ConfigJson[K] };

/** What `new Mamba2Config(init)` takes: any field (camelCase), the rest defaulting to transformers'. */
export type Mamba2ConfigInit = Partial<Omit<Mamba2ConfigFields, "modelType" | "timeStepRank">> & { readonly timeStepRank?: number | "auto" };

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The snake_case names of every field, in transformers' order. */
const FIELDS = Object.keys(parseConfig({}));

// Declaration merging: the class has every field of Mamba2ConfigFields (assigned in the constructor).
export interface Mamba2Config extends Mamba2ConfigFields {}

/**
 * transformers' `Mamba2Config`: every field with its default (Mamba-Codestral-7B's: hidden 4096, 64 layers,
 * 128 heads of 64, state 128, 8 groups, vocab 32768, …), validated on construction. `fromDict` reads an HF
 * `config.json` (snake_case, infinity as `{"__float__": "Infinity"}` or a bare `Infinity`); `toJsonString`
 * writes one. Keys that are not Mamba2 fields (`architectures`, `dtype`, …) are kept in `extra`.
 */
export class Mamba2Config {
  /** The fields as `config.json` names them (snake_case): what the runtime reads. */
  declare readonly hf: ConfigJson;
  /** The other keys of the config.json it was read from, written back by `toDict`. */
  declare readonly extra: Readonly<Record<string, unknown>>;

  constructor(init: Mamba2ConfigInit = {}) {
    const dict: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(init)) {
      const name = snake(k);
      if (!FIELDS.includes(name) || name === "model_type") fail(`Mamba2Config: unknown field ${k}`);
      if (v !== undefined) dict[name] = v;
    }
    return configOf(parseConfig(dict, "Mamba2Config"), {});
  }

  /** A config.json (text or parsed object); `source` names it in messages. */
  static fromDict(json: string | object, source = "config.json"): Mamba2Config {
    const raw = typeof json === "string" ? parseJson(json, source) : json;
    const hf = parseConfig(raw as object, source);
    const extra = Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([k]) => !FIELDS.includes(k)));
    return configOf(hf, extra);
  }

  /** The config.json object: `extra`, then every field, snake_case. */
  toDict(): Record<string, unknown> {
    return { ...this.extra, ...this.hf };
  }

  /** config.json text as transformers writes it (sorted keys, 2-space indent, `{"__float__": "Infinity"}`). */
  toJsonString(): string {
    return stringifyJson(this.toDict());
  }
}

function configOf(hf: ConfigJson, extra: Record<string, unknown>): Mamba2Config {
  const c = Object.create(Mamba2Config.prototype) as Mamba2Config;
  const fields = Object.fromEntries(Object.entries(hf).map(([k, v]) => [camel(k), v]));
  return Object.freeze(Object.assign(c, fields, { hf, extra: Object.freeze({ ...extra }) }));
}
