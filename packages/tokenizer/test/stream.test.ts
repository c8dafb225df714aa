// Streaming decoder: never emits half a character, and its output concatenates to decode().
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer, type Mamba2Tokenizer } from "../src/node.js";
import { MODEL_DIR, SHAKESPEARE, readJsonFile } from "./helpers.js";

let tok: Mamba2Tokenizer;
let byteIds: number[]; // byteIds[b] = id of the single-byte token for byte b (GPT-2 byte mapping)
beforeAll(async () => {
  tok = await loadTokenizer(MODEL_DIR);
  const vocab: Record<string, number> = readJsonFile(new URL("tokenizer.json", MODEL_DIR)).model.vocab;
  let extra = 0;
  byteIds = Array.from({ length: 256 }, (_, b) => {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    return vocab[String.fromCodePoint(printable ? b : 256 + extra++)];
  });
});

function stream(ids: number[], skipSpecialTokens = false): string[] {
  const decoder = tok.createStreamDecoder({ skipSpecialTokens });
  return [...ids.map((id) => decoder.push(id)), decoder.flush()];
}

describe("createStreamDecoder", () => {
  it("emits only whole characters for multi-byte text", () => {
    const text = "héllo — 日本語 🙂 ROMEO\nJULIET: ¿qué? Ωμέγα";
    const ids = tok.encode(text);
    const parts = stream(ids);
    for (const part of parts) expect(part).not.toContain("\uFFFD");
    expect(parts.join("")).toBe(tok.decode(ids));
    expect(parts.join("")).toBe(text);
    expect(parts.filter((p) => p === "").length).toBeGreaterThan(1); // partial characters were held back
  });

  it("matches decode() over a long text (exercises window trimming)", () => {
    const ids = tok.encode(readFileSync(SHAKESPEARE, "utf8").slice(0, 5000) + " 日本語🙂".repeat(20));
    expect(stream(ids).join("")).toBe(tok.decode(ids));
  });

  it("matches decode() on invalid byte sequences, including long runs", () => {
    const b = (...bytes: number[]) => bytes.map((x) => byteIds[x]);
    const cases = [
      b(0xe6, 0x41), // truncated 3-byte sequence
      b(0xf0, 0x80, 0x41), // invalid continuation
      b(0x97, 0x97, 0xe6, 0x97, 0xa5), // stray continuations then 日
      [...b(...Array(40).fill(0xe6)), ...b(0xe6, 0x97, 0xa5)], // long held-back run
      b(0xf0, 0x9f, 0x99), // incomplete at end of stream
    ];
    for (const ids of cases) expect(stream(ids).join("")).toBe(tok.decode(ids));
  });

  it("matches decode() on random id sequences, with and without special tokens", () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 50; trial++) {
      const ids = Array.from({ length: 60 }, () =>
        rand() < 0.5 ? byteIds[Math.floor(rand() * 256)] : Math.floor(rand() * tok.vocabSize),
      );
      expect(stream(ids).join("")).toBe(tok.decode(ids));
      expect(stream(ids, true).join("")).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    }
  });

  it("validates pushed ids", () => {
    const decoder = tok.createStreamDecoder();
    expect(() => decoder.push(-1)).toThrow(/Invalid token id -1/);
    expect(() => decoder.push(tok.vocabSize)).toThrow(/Invalid token id 2048/);
  });
});
