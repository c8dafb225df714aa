// @mamba2/tokenizer: a thin wrapper around @huggingface/tokenizers with special-token
// lookup, input validation and a streaming (incremental) decoder. Web-standard APIs only.
import { Tokenizer } from "@huggingface/tokenizers";
import { oneLine, parseJson, TokenizerError } from "./json.js";

export { TokenizerError };

export interface EncodeOptions {
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

/** The files a tokenizer needs from a model folder: `ModelFolder` of @mamba2/core (disk, URL, Hub, File objects). */
export interface TokenizerFolder {
  readonly name: string;
  has(file: string): Promise<boolean>;
  text(file: string): Promise<string>;
}

export interface FromUrlOptions {
  fetch?: typeof globalThis.fetch;
}

export interface StreamDecoder {
  /** Adds one token id and returns the text it completes ("" while a character is still partial). */
  push(id: number): string;
  /** Returns whatever text is still held back (e.g. a trailing invalid byte sequence). */
  flush(): string;
}

type TokenSpec = string | { content: string } | null | undefined;

const REPLACEMENT = "\uFFFD";
// Stream window bounds. A held-back partial character spans at most 3 bytes (so at most
// 3 tokens); 4 kept tokens always contain it.
const STREAM_KEEP = 4;
const STREAM_MAX = 16;

export class Mamba2Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  private readonly tokenizer: Tokenizer;
  private readonly specialIds: Set<number>;

  private constructor(tokenizerJson: Record<string, unknown>, config: Record<string, unknown>) {
    try {
      this.tokenizer = new Tokenizer({ added_tokens: [], ...tokenizerJson }, config);
    } catch (err) {
      throw new TokenizerError(`Malformed tokenizer.json: ${oneLine(err)}`);
    }
    this.vocabSize = this.tokenizer.model?.vocab.length ?? 0;
    this.bosTokenId = this.lookup(config.bos_token as TokenSpec);
    this.eosTokenId = this.lookup(config.eos_token as TokenSpec);
    this.padTokenId = this.lookup(config.pad_token as TokenSpec);
    this.specialIds = new Set(
      [...this.tokenizer.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id),
    );
  }

  /** Builds a tokenizer from parsed tokenizer.json and (optional) tokenizer_config.json objects. */
  static fromObjects(tokenizerJson: unknown, tokenizerConfig: unknown = {}): Mamba2Tokenizer {
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
      throw new TokenizerError('Malformed tokenizer.json: expected an object with a "model" object');
    }
    if (!isObject(tokenizerConfig)) {
      throw new TokenizerError("Malformed tokenizer_config.json: expected an object");
    }
    return new Mamba2Tokenizer(tokenizerJson, tokenizerConfig);
  }

  /** Fetches tokenizer.json and (optional, 404 → {}) tokenizer_config.json from a base URL. */
  static async fromUrl(baseUrl: string | URL, options: FromUrlOptions = {}): Promise<Mamba2Tokenizer> {
    const fetchFn = options.fetch ?? globalThis.fetch;
    const base = new URL(String(baseUrl), globalThis.location?.href);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    const [json, config] = await Promise.all([
      fetchJson(fetchFn, new URL("tokenizer.json", base), false),
      fetchJson(fetchFn, new URL("tokenizer_config.json", base), true),
    ]);
    return Mamba2Tokenizer.fromObjects(json, config);
  }

  /** Reads tokenizer.json and (optional) tokenizer_config.json from a model folder. */
  static async fromFolder(folder: TokenizerFolder): Promise<Mamba2Tokenizer> {
    const at = (file: string) => `${folder.name.replace(/\/$/, "")}/${file}`;
    if (!(await folder.has("tokenizer.json"))) throw new TokenizerError(`Tokenizer file not found: ${at("tokenizer.json")}`);
    const json = parseJson(await folder.text("tokenizer.json"), at("tokenizer.json"));
    const config = (await folder.has("tokenizer_config.json")) ? parseJson(await folder.text("tokenizer_config.json"), at("tokenizer_config.json")) : {};
    return Mamba2Tokenizer.fromObjects(json, config);
  }

  encode(text: string, { addSpecialTokens = false }: EncodeOptions = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: ArrayLike<number>, { skipSpecialTokens = false }: DecodeOptions = {}): string {
    const list = Array.from(ids);
    for (const id of list) this.checkId(id);
    if (list.length === 0) return "";
    // Byte-level decoding is lossless, so HF's space clean-up is disabled: it would break
    // decode(encode(s)) === s and make streamed chunks differ from a full decode.
    return this.tokenizer.decode(list, {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: false,
    });
  }

  /**
   * Incremental decoder. It decodes a short window of recent tokens and tracks how many
   * characters of that window's text were already emitted (the read offset); the last
   * character is held back while it is U+FFFD, since it may be a partial UTF-8 sequence.
   * The window is trimmed to a few tokens, so each push costs O(1) token decodes.
   */
  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    let window: number[] = [];
    let emitted = 0;
    const decode = (ids: number[]) => this.decode(ids, options);
    return {
      push: (id) => {
        this.checkId(id);
        if (options.skipSpecialTokens && this.specialIds.has(id)) return "";
        window.push(id);
        const text = decode(window);
        const stable = text.length - (text.endsWith(REPLACEMENT) ? 1 : 0);
        const out = text.slice(emitted, Math.max(emitted, stable));
        emitted += out.length;
        if (window.length > STREAM_MAX) {
          // The held-back tail (at most one character) is also the tail of the kept tokens.
          window = window.slice(-STREAM_KEEP);
          emitted = decode(window).length - (text.length - emitted);
        }
        return out;
      },
      flush: () => {
        const out = decode(window).slice(emitted);
        window = [];
        emitted = 0;
        return out;
      },
    };
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`Invalid token id ${id}: expected an integer in [0, ${this.vocabSize})`);
    }
  }

  private lookup(spec: TokenSpec): number | null {
    const content = typeof spec === "string" ? spec : spec?.content;
    return content === undefined ? null : (this.tokenizer.token_to_id(content) ?? null);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function fetchJson(fetchFn: typeof globalThis.fetch, url: URL, optional: boolean): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (err) {
    throw new TokenizerError(`Failed to fetch ${url}: ${oneLine(err)}`);
  }
  if (optional && res.status === 404) return {};
  if (!res.ok) throw new TokenizerError(`Failed to fetch ${url}: HTTP ${res.status} ${res.statusText}`.trimEnd());
  return parseJson(await res.text(), String(url));
}
