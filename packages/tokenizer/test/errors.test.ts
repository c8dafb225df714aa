// Loading from disk and URLs, and error paths.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Mamba2Tokenizer } from "../src/index.js";
import { hasTokenizer, loadTokenizer } from "../src/node.js";
import { MODEL_DIR } from "./helpers.js";

const modelPath = fileURLToPath(MODEL_DIR);
const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "mamba2-tok-"));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => null, (e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect(err!.message).not.toContain("\n");
  return err!.message;
}

/** A fetch that serves files from the model folder under https://host/m/. */
function fakeFetch(status: Record<string, number> = {}): typeof fetch {
  return async (input) => {
    const name = String(input).replace("https://host/m/", "");
    if (status[name]) return new Response("nope", { status: status[name], statusText: "Oops" });
    return new Response(readFileSync(join(modelPath, name)));
  };
}

describe("loadTokenizer / hasTokenizer", () => {
  it("loads from a path string and detects tokenizer folders", async () => {
    expect((await loadTokenizer(modelPath)).eosTokenId).toBe(0);
    expect(hasTokenizer(modelPath)).toBe(true);
    expect(hasTokenizer(MODEL_DIR)).toBe(true);
    expect(hasTokenizer(join(modelPath, "missing"))).toBe(false);
  });

  it("names the missing file", async () => {
    const dir = join(modelPath, "no-such-folder");
    expect(await errorOf(loadTokenizer(dir))).toBe(`Tokenizer file not found: ${join(dir, "tokenizer.json")}`);
  });

  it("names the file with malformed JSON", async () => {
    const bad = tempDir({ "tokenizer.json": '{"model": {\n' });
    expect(await errorOf(loadTokenizer(bad))).toMatch(/^Invalid JSON in .*tokenizer\.json: /);
    const tokenizerJson = readFileSync(join(modelPath, "tokenizer.json"), "utf8");
    const badConfig = tempDir({ "tokenizer.json": tokenizerJson, "tokenizer_config.json": "nope" });
    expect(await errorOf(loadTokenizer(badConfig))).toMatch(/^Invalid JSON in .*tokenizer_config\.json: /);
  });

  it("treats tokenizer_config.json as optional", async () => {
    const dir = tempDir({ "tokenizer.json": readFileSync(join(modelPath, "tokenizer.json"), "utf8") });
    const tok = await loadTokenizer(dir);
    expect([tok.bosTokenId, tok.eosTokenId, tok.padTokenId]).toEqual([null, null, null]);
    expect(tok.decode(tok.encode("ROMEO:\n"))).toBe("ROMEO:\n");
  });
});

describe("Mamba2Tokenizer validation", () => {
  it("rejects malformed tokenizer.json objects", async () => {
    for (const bad of [null, [], "x", {}, { model: 1 }]) {
      expect(() => Mamba2Tokenizer.fromObjects(bad)).toThrow(/^Malformed tokenizer\.json: /);
    }
    expect(() => Mamba2Tokenizer.fromObjects({ model: { type: "Nope" } })).toThrow(/^Malformed tokenizer\.json: /);
    const dir = tempDir({ "tokenizer.json": "[1, 2]" });
    expect(await errorOf(loadTokenizer(dir))).toMatch(/^Malformed tokenizer\.json/);
  });

  it("rejects out-of-range and non-integer ids in decode", async () => {
    const tok = await loadTokenizer(MODEL_DIR);
    expect(() => tok.decode([5, 2048])).toThrow("Invalid token id 2048: expected an integer in [0, 2048)");
    expect(() => tok.decode([-3])).toThrow(/Invalid token id -3/);
    expect(() => tok.decode([1.5])).toThrow(/Invalid token id 1.5/);
    expect(tok.decode([])).toBe("");
    expect(tok.decode(Int32Array.from(tok.encode("KING")))).toBe("KING");
  });
});

describe("Mamba2Tokenizer.fromUrl", () => {
  it("fetches both files relative to the base URL (with or without trailing slash)", async () => {
    for (const base of ["https://host/m/", "https://host/m"]) {
      const tok = await Mamba2Tokenizer.fromUrl(base, { fetch: fakeFetch() });
      expect(tok.padTokenId).toBe(1);
    }
  });

  it("treats a 404 tokenizer_config.json as empty", async () => {
    const tok = await Mamba2Tokenizer.fromUrl("https://host/m/", {
      fetch: fakeFetch({ "tokenizer_config.json": 404 }),
    });
    expect(tok.eosTokenId).toBeNull();
  });

  it("reports the URL and HTTP status when tokenizer.json fails", async () => {
    const fetch = fakeFetch({ "tokenizer.json": 500 });
    expect(await errorOf(Mamba2Tokenizer.fromUrl("https://host/m/", { fetch }))).toBe(
      "Failed to fetch https://host/m/tokenizer.json: HTTP 500 Oops",
    );
    const failing: typeof globalThis.fetch = async () => {
      throw new TypeError("network down");
    };
    expect(await errorOf(Mamba2Tokenizer.fromUrl("https://host/m/", { fetch: failing }))).toMatch(
      /^Failed to fetch https:\/\/host\/m\/tokenizer(_config)?\.json: network down$/,
    );
  });
});
