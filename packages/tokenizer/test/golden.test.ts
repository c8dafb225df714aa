// Golden checks against the reference tokenizer outputs stored with the model.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer, type Mamba2Tokenizer } from "../src/node.js";
import { MODEL_DIR, SHAKESPEARE, readIntTensor, readJsonFile } from "./helpers.js";

const VAL_START = 1003788;

let tok: Mamba2Tokenizer;
beforeAll(async () => {
  tok = await loadTokenizer(MODEL_DIR);
});

describe("golden tokenization", () => {
  it("encodes the validation text to val_ids", () => {
    const valIds = readIntTensor("val_ids");
    expect(valIds).toHaveLength(2048);
    const text = readFileSync(SHAKESPEARE, "utf8").slice(VAL_START);
    expect(tok.encode(text).slice(0, valIds.length)).toEqual(valIds);
  }, 60_000); // the whole held-out text (~110 KB): 2–6 s on a 2-core machine beside the other packages' tests

  it("round-trips the golden prompts and matches their stored ids", () => {
    const { prompts } = readJsonFile(new URL("golden.json", MODEL_DIR));
    expect(prompts.length).toBeGreaterThan(0);
    prompts.forEach((prompt: string, i: number) => {
      const ids = tok.encode(prompt);
      expect(ids).toEqual(readIntTensor(`prompt_ids.${i}`));
      expect(tok.decode(ids)).toBe(prompt);
    });
  });

  it("decodes prompt + greedy generation ids to the stored text", () => {
    const golden = readJsonFile(new URL("golden.json", MODEL_DIR));
    golden.prompts.forEach((_: string, i: number) => {
      const ids = [...readIntTensor(`prompt_ids.${i}`), ...readIntTensor(`greedy_ids.${i}`)];
      expect(tok.decode(ids)).toBe(golden[`greedy_text.${i}`]);
    });
  });

  it("resolves special token ids from tokenizer_config.json", () => {
    expect(tok.bosTokenId).toBe(0);
    expect(tok.eosTokenId).toBe(0);
    expect(tok.padTokenId).toBe(1);
    expect(tok.vocabSize).toBe(2048);
    expect(tok.encode("ROMEO:", { addSpecialTokens: false })).not.toContain(0);
    expect(tok.decode([tok.eosTokenId!, ...tok.encode("hi")])).toBe("<|endoftext|>hi");
    expect(tok.decode([tok.eosTokenId!, ...tok.encode("hi")], { skipSpecialTokens: true })).toBe("hi");
  });
});
