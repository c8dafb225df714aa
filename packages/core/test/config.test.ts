import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dimsOf, parseConfig, parseJson } from "../src/index.js";
import { fixtureDir } from "./helpers.js";

const tiny = () => JSON.parse(readFileSync(`${fixtureDir("tiny")}config.json`, "utf8").replace(/\{\s*"__float__":\s*"Infinity"\s*\}/, "1e999"));

describe("parseJson", () => {
  it("reads bare Infinity, -Infinity and NaN outside strings, and transformers' __float__ objects", () => {
    expect(parseJson('{"a": [0.0, Infinity], "b": -Infinity, "c": "Infinity NaN", "d": {"__float__": "Infinity"}}')).toEqual({
      a: [0, Infinity], b: -Infinity, c: "Infinity NaN", d: Infinity,
    });
    expect(Number.isNaN((parseJson('{"x": NaN}') as { x: number }).x)).toBe(true);
    expect(parseJson('{"s": "quote \\" Infinity"}')).toEqual({ s: 'quote " Infinity' });
  });
  it("names the source of invalid JSON", () => {
    expect(() => parseJson("{oops", "model/config.json")).toThrow(/^model\/config.json: invalid JSON/);
  });
});

describe("parseConfig", () => {
  it("reads the fixture with its infinity encodings", () => {
    const text = readFileSync(`${fixtureDir("tiny")}config.json`, "utf8");
    const c = parseConfig(text);
    expect(c.time_step_limit).toEqual([0, Infinity]);
    expect(parseConfig(text.replace(/\{\s*"__float__":\s*"Infinity"\s*\}/, "Infinity")).time_step_limit).toEqual([0, Infinity]);
    expect(Object.isFrozen(c)).toBe(true);
    expect(dimsOf(c)).toMatchObject({ inner: 128, convDim: 160, inProj: 128 + 160 + 8 });
  });

  it("fills in transformers' Mamba2Config defaults", () => {
    const c = parseConfig({});
    expect(c).toMatchObject({
      vocab_size: 32768, hidden_size: 4096, state_size: 128, num_hidden_layers: 64, layer_norm_epsilon: 1e-5,
      pad_token_id: 1, bos_token_id: 0, eos_token_id: 2, expand: 2, conv_kernel: 4, n_groups: 8, use_bias: false,
      use_conv_bias: true, hidden_act: "silu", residual_in_fp32: true, time_step_rank: 256, chunk_size: 256,
      tie_word_embeddings: false, num_heads: 128, head_dim: 64, time_step_limit: [0, Infinity],
    });
  });

  it.each([
    [{ num_heads: 7 }, /num_heads × head_dim \(7 × 16 = 112\) must equal expand × hidden_size \(2 × 64 = 128\)/],
    [{ n_groups: 3 }, /num_heads \(8\) must be divisible by n_groups \(3\)/],
    [{ state_size: 0 }, /state_size must be a positive integer, found 0/],
    [{ hidden_size: 64.5 }, /hidden_size must be a positive integer, found 64.5/],
    [{ hidden_act: "mish" }, /hidden_act must be one of silu, swish, relu, identity, found "mish"/],
    [{ layer_norm_epsilon: -1 }, /layer_norm_epsilon must be a positive number/],
    [{ time_step_limit: [1, 0] }, /time_step_limit must be \[min, max\]/],
    [{ model_type: "mamba" }, /model_type is "mamba", expected "mamba2"/],
    [{ use_bias: "yes" }, /use_bias must be true or false/],
  ])("rejects %j", (patch, message) => {
    expect(() => parseConfig({ ...tiny(), ...patch }, "cfg.json")).toThrow(message);
    expect(() => parseConfig({ ...tiny(), ...patch }, "cfg.json")).toThrow(/^cfg.json: /);
  });

  it("rejects what is not an object", () => {
    expect(() => parseConfig("[1, 2]")).toThrow(/config.json: expected a JSON object/);
  });
});
