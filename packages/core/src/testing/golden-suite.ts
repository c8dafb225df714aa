/**
 * End-to-end goldens of the fixtures (made with HF transformers; float64 references where given; `ssmformat` in
 * mamba_ssm's layout, loaded with its grouped gated norm by format detection) on any
 * backend: logits, last hidden state, loss, cache states, continuation, cached greedy decoding, batches.
 * Node-only (reads the fixture folders).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Backend, Tensor } from "../backend.js";
import { generateAll } from "../generate.js";
import { sequenceLoss } from "../loss.js";
import type { Mamba2Model } from "../model.js";
import { loadModelFromDir } from "../node.js";
import { type Golden, readGoldens, relErr } from "./compare.js";

/** float32 compute against float64 goldens: max |Δ| / max(1, max |expected|). */
export const GOLDEN_TOLERANCE = 1e-4;

export const FIXTURES = ["tiny", "groups", "wide", "ssmformat"];

/** Registers the golden tests of each fixture folder under `fixturesDir` with vitest. */
export function goldenSuite<T extends Tensor>(name: string, makeBackend: () => Backend<T> | Promise<Backend<T>>, fixturesDir: string, fixtures = FIXTURES): void {
  describe.each(fixtures)(`${name}: fixture %s`, (fixture) => {
    const dir = join(fixturesDir, fixture);
    let model: Mamba2Model<T>;
    const g = readGoldens(readFileSync(join(dir, "golden.safetensors")));
    const info = JSON.parse(readFileSync(join(dir, "golden.json"), "utf8")) as { continue_split: number; new_tokens: number };
    const get = (k: string): Golden => {
      const v = g.get(k);
      if (!v) throw new Error(`golden ${k} missing in ${dir}`);
      return v;
    };
    const ids = (k: string) => Array.from(get(k).values);
    const TOL = GOLDEN_TOLERANCE;

    beforeAll(async () => {
      model = await loadModelFromDir(dir, { backend: await makeBackend() });
    });

    it("logits and last hidden state of a full forward", async () => {
      const r = await model.forward([ids("input_ids_a")], { hidden: true });
      expect(relErr(r.logits!, get("logits_a_f64").values)).toBeLessThan(TOL);
      expect(relErr(r.hidden!, get("last_hidden_a").values)).toBeLessThan(TOL);
    });

    it("loss", async () => {
      const loss = await sequenceLoss(model, ids("input_ids_a"));
      expect(Math.abs(loss - get("loss_a").values[0])).toBeLessThan(1e-5 * Math.max(1, Math.abs(loss)));
    });

    it("cache states after prefill, and continuation from the cache", async () => {
      const prompt = ids("input_ids_a");
      const cache = model.createCache(1);
      await model.forward([prompt], { cache, logits: "none" });
      for (let l = 0; l < model.dims.layers; l++) {
        expect(relErr(await model.backend.readF32(cache.conv[l]), get(`conv_state.${l}`).values)).toBeLessThan(TOL);
        expect(relErr(await model.backend.readF32(cache.ssm[l]), get(`ssm_state.${l}`).values)).toBeLessThan(TOL);
      }
      cache.free();
      const split = info.continue_split;
      const c2 = model.createCache(1);
      await model.forward([prompt.slice(0, split)], { cache: c2, logits: "none" });
      const rest = await model.forward([prompt.slice(split)], { cache: c2 });
      expect(relErr(rest.logits!, get("continue_logits_a").values)).toBeLessThan(TOL);
      expect(c2.seqLen).toBe(prompt.length);
      c2.free();
    });

    it.each(["a", "b"])("greedy tokens and their logits through cached decoding (prompt %s)", async (p) => {
      const prompt = ids(`input_ids_${p}`);
      const expected = ids(`greedy_tokens_${p}`);
      const [tokens] = await generateAll(model, prompt, { maxNewTokens: info.new_tokens, eosTokenId: null });
      expect(tokens).toEqual(expected);
      const logits = get(`greedy_logits_${p}`).values;
      const v = model.dims.vocab;
      const cache = model.createCache(1);
      let input = prompt;
      for (let s = 0; s < expected.length; s++) {
        const step = await model.nextLogits([input], cache);
        expect(relErr(step, logits.subarray(s * v, (s + 1) * v))).toBeLessThan(TOL);
        input = [expected[s]];
      }
      cache.free();
    });

    it("left-padded batch: each row equals its unbatched run", async () => {
      const [b, t] = get("batch_input_ids").shape;
      const rows = (k: string) => Array.from({ length: b }, (_, i) => ids(k).slice(i * t, (i + 1) * t));
      const mask = rows("batch_attention_mask");
      const r = await model.forward(rows("batch_input_ids"), { attentionMask: mask, logits: "last" });
      expect(relErr(r.logits!, get("batch_last_logits").values)).toBeLessThan(TOL);
      const prompts = rows("batch_input_ids").map((row, i) => row.filter((_, j) => mask[i][j] === 1));
      const tokens = await generateAll(model, prompts, { maxNewTokens: info.new_tokens, eosTokenId: null });
      expect(tokens.flat()).toEqual(ids("batch_greedy_tokens"));
    });
  });
}
