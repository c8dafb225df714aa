// Generation features end to end: the streaming API on both backends (goldens, seeded sampling, states moved
// between backends) and the new `mamba2 generate` flags (saved states, stop text, prefill chunks, log-probs).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, createReferenceBackend, deserializeState, type GenerateOptions, type Mamba2Model, serializeState, tokenLogprobs } from "@mamba2/core";
import { loadModelFromDir } from "@mamba2/core/node";
import { readGoldens } from "@mamba2/core/testing";
import { loadTokenizer } from "@mamba2/tokenizer/node";
import { createWasmBackend } from "@mamba2/wasm-kernels";
import { beforeAll, describe, expect, it } from "vitest";
import { mamba2, root, shakespeare, tiny } from "./helpers.js";
import { generateCommand } from "../src/generate.js";

const tmp = mkdtempSync(join(tmpdir(), "mamba2-gen-"));
const json = (...args: string[]) => {
  const r = mamba2(...args, "--json");
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout);
};

const golden = new Map([...readGoldens(readFileSync(join(shakespeare, "golden.safetensors")))].map(([k, g]) => [k, Array.from(g.values)]));
const info = JSON.parse(readFileSync(join(shakespeare, "golden.json"), "utf8"));

describe("the API on the reference and WASM backends (bundled model)", () => {
  const models: Record<string, Mamba2Model> = {};
  let tokenizer: Awaited<ReturnType<typeof loadTokenizer>>;
  beforeAll(async () => {
    tokenizer = await loadTokenizer(shakespeare);
    const backends: [string, Backend][] = [["reference", createReferenceBackend()], ["wasm", await createWasmBackend()]];
    for (const [name, backend] of backends) models[name] = await loadModelFromDir(shakespeare, { backend });
  });
  const run = async (backend: string, prompt: string | number[][], o: GenerateOptions) => {
    const r = await models[backend].createSession().complete(typeof prompt === "string" ? tokenizer.encode(prompt) : prompt, { decoder: tokenizer, ...o });
    return { tokens: r.tokens, text: r.text };
  };

  it.each([
    [0, "reference"],
    [1, "wasm"],
    [2, "wasm"],
  ])("greedy golden %i streamed as text deltas (%s)", async (i, backend) => {
    const expected = golden.get(`greedy_ids.${i}`)!;
    const r = await run(backend, info.prompts[i], { temperature: 0, maxNewTokens: expected.length });
    expect(r.tokens).toEqual([expected]);
    expect(info.prompts[i] + r.text[0]).toBe(info[`greedy_text.${i}`]);
  });

  it("seeded sampling with every sampler gives the same tokens on both backends and on every run", async () => {
    const o = { maxNewTokens: 24, temperature: 0.9, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.2, presencePenalty: 0.3, frequencyPenalty: 0.2 };
    const prompts = [tokenizer.encode("JULIET:\n"), tokenizer.encode("KING RICHARD III:\nNow")];
    const reference = await run("reference", prompts, { ...o, seed: [5, 6] });
    expect(reference.tokens.map((r) => r.length)).toEqual([24, 24]);
    expect(await run("wasm", prompts, { ...o, seed: [5, 6] })).toEqual(reference);
    expect(await run("wasm", prompts, { ...o, seed: [5, 6] })).toEqual(reference);
    expect((await run("wasm", [prompts[1]], { ...o, seed: 6 })).tokens).toEqual([reference.tokens[1]]);
  });

  it("a state saved on WASM continues on the reference backend as the uninterrupted run", async () => {
    const expected = golden.get("greedy_ids.0")!;
    const first = models.wasm.createSession();
    const head = await first.complete(tokenizer.encode(info.prompts[0]), { temperature: 0, maxNewTokens: 20 });
    const bytes = await serializeState(first.saveState());
    const second = models.reference.createSession();
    second.loadState(await deserializeState(models.reference, bytes));
    const tail = await second.complete(undefined, { temperature: 0, maxNewTokens: expected.length - 20 });
    expect([...head.tokens[0], ...tail.tokens[0]]).toEqual(expected);
  });
});

describe("mamba2 generate: states, stop text, prefill chunks, prompt files", () => {
  const sampling = ["--temperature", "0.9", "--top-k", "40", "--min-p", "0.05", "--repetition-penalty", "1.2", "--presence-penalty", "0.3", "--frequency-penalty", "0.2"];

  it("--save-state then --load-state continues exactly as one run (the saved generators go on)", () => {
    const state = join(tmp, "juliet.state");
    const whole = json("generate", "--prompt", "JULIET:", ...sampling, "--seed", "7", "--max-new-tokens", "24");
    const first = json("generate", "--prompt", "JULIET:", ...sampling, "--seed", "7", "--max-new-tokens", "10", "--save-state", state);
    const rest = json("generate", "--load-state", state, ...sampling, "--max-new-tokens", "14");
    expect([...first.tokens, ...rest.tokens]).toEqual(whole.tokens);
    expect(first.text + rest.text).toBe(whole.text);
    // more input after a loaded state is appended to the context; the stream prints only the new text
    const r = mamba2("generate", "--load-state", state, "--prompt", "\n\nROMEO:", "--temperature", "0", "--max-new-tokens", "5");
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("\n\nROMEO:")).toBe(true);
  });

  it("--load-state of a batch continues every row, each as its own run", () => {
    const state = join(tmp, "batch.state");
    const whole = json("generate", "--model", tiny, "--ids", "5,6,7;9", "--temperature", "0", "--max-new-tokens", "8");
    json("generate", "--model", tiny, "--ids", "5,6,7;9", "--temperature", "0", "--max-new-tokens", "3", "--save-state", state);
    const rest = json("generate", "--model", tiny, "--load-state", state, "--temperature", "0", "--max-new-tokens", "5");
    expect(rest.tokens).toEqual(whole.tokens.map((row: number[]) => row.slice(3)));
  });

  it("--stop ends the text before the stop string", () => {
    const expected = golden.get("greedy_ids.0")!;
    const full: string = info["greedy_text.0"].slice(info.prompts[0].length);
    const cut = full.slice(0, full.indexOf("\n\n"));
    const r = json("generate", "--prompt", info.prompts[0], "--temperature", "0", "--max-new-tokens", "64", "--stop", "\n\n");
    expect(r.text).toBe(cut);
    expect(r.tokens).toEqual(expected.slice(0, r.tokens.length));
    const streamed = mamba2("generate", "--prompt", info.prompts[0], "--temperature", "0", "--max-new-tokens", "64", "--stop", "\n\n");
    expect(streamed.stdout).toBe(info.prompts[0] + cut + "\n");
  });

  it("--prefill-chunk and --prompt-file give the greedy golden", () => {
    const file = join(tmp, "prompt.txt");
    writeFileSync(file, info.prompts[1]);
    const expected = golden.get("greedy_ids.1")!;
    const r = json("generate", "--prompt-file", file, "--prefill-chunk", "2", "--temperature", "0", "--max-new-tokens", String(expected.length), "--backend", "reference");
    expect(r.tokens).toEqual(expected);
  });

  it("--logprobs adds each new token's log-probability to the JSON", async () => {
    let printed = "";
    const ids = [5, 6, 7, 8, 9];
    await generateCommand({ model: tiny, ids: ids.join(","), temperature: "0", "max-new-tokens": "8", backend: "reference", json: true, logprobs: true }, (s) => (printed += s));
    const r = JSON.parse(printed);
    expect(r.logprobs).toHaveLength(8);
    const model = await loadModelFromDir(tiny);
    const expected = (await tokenLogprobs(model, [...ids, ...r.tokens])).slice(ids.length - 1);
    r.logprobs.forEach((lp: number, i: number) => expect(lp).toBeCloseTo(expected[i], 5));
  });

  describe("bad input: one line on stderr, exit code 2", () => {
    const tinyState = join(tmp, "tiny.state");
    const garbage = join(tmp, "garbage.state");
    beforeAll(() => {
      json("generate", "--model", tiny, "--ids", "1,2;3", "--max-new-tokens", "1", "--save-state", tinyState);
      writeFileSync(garbage, "not a state at all");
    });
    it.each([
      [["generate", "--load-state", "TINY"], /tiny.state: saved from a model with num_hidden_layers 2, this model has num_hidden_layers 6/],
      [["generate", "--load-state", "GARBAGE"], /garbage.state: not a Mamba2 state \(no MAMBA2ST magic\)/],
      [["generate", "--load-state", join(tmp, "missing.state")], /missing.state: no such file/],
      [["generate", "--model", tiny, "--load-state", "TINY", "--ids", "4"], /the session holds 2 sequences but the input has 1 rows/],
      [["generate", "--model", tiny, "--ids", "1", "--stop", "x"], /has no tokenizer.json: --stop needs one/],
      [["generate", "--ids", "1", "--min-p", "2"], /--min-p must be a number in \[0, 1\], found 2/],
      [["generate", "--ids", "1", "--repetition-penalty", "0"], /repetition penalty must be a number > 0, found 0/],
      [["generate", "--ids", "1", "--prefill-chunk", "0"], /--prefill-chunk must be an integer in \[1, Infinity\], found 0/],
      [["generate", "--ids", "1", "--prompt", "x"], /generate needs exactly one of --prompt or --ids/],
      [["generate", "--prompt-file", join(tmp, "nope.txt")], /nope.txt: no such file/],
      [["generate", "--ids", "1", "--save-state", join(tmp, "no/such/dir/s"), "--json"], /cannot write .*no\/such\/dir\/s: ENOENT/],
    ])("%j", (args, message) => {
      const r = mamba2(...(args as string[]).map((a) => (a === "TINY" ? tinyState : a === "GARBAGE" ? garbage : a)));
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  });
});
