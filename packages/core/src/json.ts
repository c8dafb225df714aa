import { fail } from "./errors.js";

/**
 * JSON as Python writes it: besides standard JSON, bare `Infinity`, `-Infinity` and `NaN`
 * (Python's json.dumps default) and transformers' `{"__float__": "Infinity"}` encoding both become numbers.
 */
export function parseJson(text: string, source = "JSON"): unknown {
  let value: unknown;
  try {
    value = JSON.parse(replaceBareFloats(text));
  } catch (e) {
    fail(`${source}: invalid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  return decodeFloats(value);
}

const BARE = /-?Infinity|NaN/y;

/** Rewrites bare non-finite literals outside strings as `{"__float__": "..."}`. */
function replaceBareFloats(text: string): string {
  if (!/Infinity|NaN/.test(text)) return text;
  let out = "";
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    BARE.lastIndex = i;
    const m = BARE.exec(text);
    if (m) {
      out += `${text.slice(start, i)}{"__float__":"${m[0]}"}`;
      i += m[0].length - 1;
      start = i + 1;
    }
  }
  return out + text.slice(start);
}

function decodeFloats(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeFloats);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === "__float__" && typeof obj.__float__ === "string") {
    const n = Number(obj.__float__.replace(/^(-?)inf$/i, "$1Infinity"));
    if (Number.isNaN(n) && obj.__float__ !== "NaN") fail(`bad __float__ value ${JSON.stringify(obj.__float__)}`);
    return n;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = decodeFloats(obj[k]);
  return out;
}

/**
 * JSON as transformers writes `config.json`: 2-space indent, keys sorted, non-finite numbers as
 * `{"__float__": "Infinity"}` (which `parseJson` reads back).
 */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), (_, v) => (typeof v === "number" && !Number.isFinite(v) ? { __float__: String(v) } : v), 2) + "\n";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, sortKeys(obj[k])]));
}
