/**
 * The transformers-style API on any backend: the `tiny` fixture through Mamba2ForCausalLM (logits, loss, hidden
 * states, cache, inputsEmbeds) and the `tiny-lora` PEFT adapter applied at run time and merged (PEFT's logits and
 * greedy tokens). Node-only (reads the fixture folders).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Backend, Tensor } from "../backend.js";
import { Mamba2ForCausalLM } from "../transformers/node.js";
import { readGoldens, relErr } from "./compare.js";
import { GOLDEN_TOLERANCE as TOL } from "./golden-suite.js";

/** Registers the tests with vitest; `fixturesDir` holds `tiny/` and `tiny-lora/`. */
export function transformersSuite<T extends Tensor>(name: string, makeBackend: () => Backend<T> | Promise<Backend<T>>, fixturesDir: string): void {
  const tiny = join(fixturesDir, "tiny");
  const lora = join(fixturesDir, "tiny-lora");
  const g = readGoldens(readFileSync(join(tiny, "golden.safetensors")));
  const lg = readGoldens(readFileSync(join(lora, "golden.safetensors")));
  const values = (m: typeof g, k: string) => m.get(k)?.values ?? expect.fail(`golden ${k} missing`);
  const ids = Array.from(values(g, "input_ids_a"));
  const greedy = Array.from(values(lg, "greedy_tokens_a"));

  describe(`${name}: transformers API`, () => {
    it("tiny: logits, loss, hidden states, cache; inputsEmbeds give the same logits", async () => {
      const model = await Mamba2ForCausalLM.fromPretrained(tiny, { backend: await makeBackend() });
      const out = await model.forward({ inputIds: [ids], labels: [ids], outputHiddenStates: true });
      expect(relErr(out.logits.data, values(g, "logits_a_f64"))).toBeLessThan(TOL);
      expect(Math.abs(out.loss! - values(g, "loss_a")[0])).toBeLessThan(1e-5);
      expect(relErr(out.hiddenStates![2].data, values(g, "last_hidden_a"))).toBeLessThan(TOL);
      for (let l = 0; l < 2; l++) {
        expect(relErr((await out.cacheParams!.convState(l)).data, values(g, `conv_state.${l}`))).toBeLessThan(TOL);
        expect(relErr((await out.cacheParams!.ssmState(l)).data, values(g, `ssm_state.${l}`))).toBeLessThan(TOL);
      }
      out.cacheParams!.free();
      const embeds = await model.getInputEmbeddings()([ids]);
      expect((await model.forward({ inputsEmbeds: embeds, useCache: false })).logits.data).toEqual((await model.forward({ inputIds: [ids], useCache: false })).logits.data);
    });

    it.each([false, true])("tiny-lora (merged: %s): PEFT's logits and greedy tokens", async (merge) => {
      const model = await Mamba2ForCausalLM.fromPretrained(tiny, { backend: await makeBackend(), adapter: lora, mergeAdapter: merge });
      expect(relErr((await model.forward({ inputIds: [ids], useCache: false })).logits.data, values(lg, "logits_a"))).toBeLessThan(TOL);
      expect(await model.generate([ids], { maxNewTokens: greedy.length, eosTokenId: null })).toEqual([[...ids, ...greedy]]);
    });
  });
}
