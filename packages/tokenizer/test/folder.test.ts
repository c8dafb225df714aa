// Tokenizers from a ModelFolder of @mamba2/core: picked File objects, a folder on disk.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { filesFolder } from "@mamba2/core";
import { nodeFolder } from "@mamba2/core/node";
import { describe, expect, it } from "vitest";
import { Mamba2Tokenizer } from "../src/index.js";
import { MODEL_DIR, readIntTensor, readJsonFile } from "./helpers.js";

const file = (name: string) => new File([readFileSync(new URL(name, MODEL_DIR))], name);

describe("Mamba2Tokenizer.fromFolder", () => {
  it("reads tokenizer.json and tokenizer_config.json from File objects and from disk", async () => {
    const { prompts } = readJsonFile(new URL("golden.json", MODEL_DIR));
    for (const folder of [filesFolder([file("tokenizer.json"), file("tokenizer_config.json")]), nodeFolder(fileURLToPath(MODEL_DIR))]) {
      const tok = await Mamba2Tokenizer.fromFolder(folder);
      expect(tok.encode(prompts[1])).toEqual(readIntTensor("prompt_ids.1"));
      expect(tok.eosTokenId).toBe(0);
    }
  });

  it("names the folder when tokenizer.json is missing or malformed", async () => {
    await expect(Mamba2Tokenizer.fromFolder(filesFolder([file("config.json")]))).rejects.toThrow(
      "Tokenizer file not found: files config.json/tokenizer.json",
    );
    const bad = new File(["{"], "tokenizer.json");
    await expect(Mamba2Tokenizer.fromFolder(filesFolder([bad]))).rejects.toThrow(/^Invalid JSON in files tokenizer.json\/tokenizer.json: /);
  });
});
