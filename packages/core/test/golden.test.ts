// End-to-end goldens from HF transformers (float64 references where given) for the random fixtures.
import { beforeAll, describe, expect, it } from "vitest";
import { generateAll, type Mamba2Model, sequenceLoss } from "../src/index.js";
import { loadModelFromDir } from "../src/node.js";
import { fixtureDir, type Golden, goldensOf, ints, relErr } from "./helpers.js";

// float32 compute vs float64 goldens: max |Δ| / max(1, max |expected|).
const TOL = 1e-4;

const f = (g: Golden) => g.values;

describe.each(["tiny", "groups", "wide"])("fixture %s", (name) => {
  let model: Mamba2Model;
  let g: Map<string, Golden>;
  let info: { continue_split: number; new_tokens: number };
  const get = (k: string) => {
    const v = g.get(k);
    if (!v) throw new Error(`golden ${k} missing`);
    return v;
  };

  beforeAll(async () => {
    const dir = fixtureDir(name);
    model = await loadModelFromDir(dir);
    g = goldensOf(dir);
    info = (await import(`../../../fixtures/${name}/golden.json`, { with: { type: "json" } })).default;
  });

  it("logits and last hidden state of a full forward", async () => {
    const r = await model.forward([ints(get("input_ids_a"))], { hidden: true });
    expect(relErr(r.logits!, f(get("logits_a_f64")))).toBeLessThan(TOL);
    expect(relErr(r.hidden!, f(get("last_hidden_a")))).toBeLessThan(TOL);
  });

  it("loss", async () => {
    const loss = await sequenceLoss(model, ints(get("input_ids_a")));
    expect(Math.abs(loss - f(get("loss_a"))[0])).toBeLessThan(1e-5 * Math.max(1, Math.abs(loss)));
  });

  it("cache states after prefill, and continuation from the cache", async () => {
    const ids = ints(get("input_ids_a"));
    const cache = model.createCache(1);
    await model.forward([ids], { cache, logits: "none" });
    for (let l = 0; l < model.dims.layers; l++) {
      expect(relErr(await model.backend.readF32(cache.conv[l]), f(get(`conv_state.${l}`)))).toBeLessThan(TOL);
      expect(relErr(await model.backend.readF32(cache.ssm[l]), f(get(`ssm_state.${l}`)))).toBeLessThan(TOL);
    }
    const split = info.continue_split;
    const c2 = model.createCache(1);
    await model.forward([ids.slice(0, split)], { cache: c2, logits: "none" });
    const rest = await model.forward([ids.slice(split)], { cache: c2 });
    expect(relErr(rest.logits!, f(get("continue_logits_a")))).toBeLessThan(TOL);
    expect(c2.seqLen).toBe(ids.length);
  });

  it.each(["a", "b"])("greedy tokens and their logits through cached decoding (prompt %s)", async (p) => {
    const prompt = ints(get(`input_ids_${p}`));
    const expected = ints(get(`greedy_tokens_${p}`));
    const [tokens] = await generateAll(model, prompt, { maxNewTokens: info.new_tokens, eosTokenId: null });
    expect(tokens).toEqual(expected);
    const logits = f(get(`greedy_logits_${p}`));
    const v = model.dims.vocab;
    const cache = model.createCache(1);
    let input = prompt;
    for (let s = 0; s < expected.length; s++) {
      const step = await model.nextLogits([input], cache);
      expect(relErr(step, logits.subarray(s * v, (s + 1) * v))).toBeLessThan(TOL);
      input = [expected[s]];
    }
  });

  it("left-padded batch: each row equals its unbatched run", async () => {
    const ids = get("batch_input_ids");
    const mask = get("batch_attention_mask");
    const [b, t] = ids.shape;
    const rows = (x: Golden) => Array.from({ length: b }, (_, i) => ints(x).slice(i * t, (i + 1) * t));
    const r = await model.forward(rows(ids), { attentionMask: rows(mask), logits: "last" });
    expect(relErr(r.logits!, f(get("batch_last_logits")))).toBeLessThan(TOL);
    const prompts = rows(ids).map((row, i) => row.filter((_, j) => rows(mask)[i][j] === 1));
    const tokens = await generateAll(model, prompts, { maxNewTokens: info.new_tokens, eosTokenId: null });
    expect(tokens.flat()).toEqual(ints(get("batch_greedy_tokens")));
  });
});
