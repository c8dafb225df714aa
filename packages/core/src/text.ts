/**
 * The text side of generation, behind a small interface so that core does not depend on a tokenizer:
 * `Mamba2Tokenizer` of @mamba2/tokenizer (or anything with `createStreamDecoder()`) turns ids into text deltas,
 * and stop strings are matched on that text.
 */
import { fail } from "./errors.js";

/** Turns a stream of ids into text, never splitting a character. */
export interface StreamDecoder {
  /** The text this id completes ("" while a character is still partial). */
  push(id: number): string;
  /** The text still held back. */
  flush(): string;
}

/** What generation needs from a tokenizer. */
export interface TokenDecoder {
  createStreamDecoder(): StreamDecoder;
}

/**
 * The text of one generated row: decodes ids and cuts the text before the first stop string. Text that could be
 * the start of a stop string is held back until the next ids decide.
 */
export class StopText {
  private held = "";
  private readonly decoder: StreamDecoder | null;

  /** Without a decoder there is no text (and no stop string can match). */
  constructor(decoder: TokenDecoder | undefined, private readonly stops: readonly string[]) {
    this.decoder = decoder ? decoder.createStreamDecoder() : null;
  }

  /** The text `id` releases; `stopped` once a stop string appeared (the text ends before it). */
  push(id: number): { text: string; stopped: boolean } {
    return this.decoder ? this.scan(this.decoder.push(id)) : { text: "", stopped: false };
  }

  /** At the end of the row: whatever is left, still cut at a stop string. */
  end(): { text: string; stopped: boolean } {
    if (!this.decoder) return { text: "", stopped: false };
    const r = this.scan(this.decoder.flush());
    if (r.stopped) return r;
    const text = r.text + this.held;
    this.held = "";
    return { text, stopped: false };
  }

  private scan(piece: string): { text: string; stopped: boolean } {
    const s = this.held + piece;
    let cut = -1;
    for (const stop of this.stops) {
      const at = s.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.held = "";
      return { text: s.slice(0, cut), stopped: true };
    }
    // Hold the longest tail that begins some stop string: a stop can only start there.
    let hold = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, s.length); n > hold; n--) {
        if (s.endsWith(stop.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    this.held = s.slice(s.length - hold);
    return { text: s.slice(0, s.length - hold), stopped: false };
  }
}

/** The stop strings of the options, checked: non-empty strings, and a decoder to match them on. */
export function checkStops(stop: unknown, decoder: TokenDecoder | undefined): readonly string[] {
  const stops = stop === undefined ? [] : [stop].flat();
  for (const s of stops) if (typeof s !== "string" || s === "") fail(`stop strings must be non-empty strings, found ${JSON.stringify(s)}`);
  if (stops.length && !decoder) fail("stop strings need a decoder: pass the tokenizer as `decoder`");
  return stops as string[];
}
