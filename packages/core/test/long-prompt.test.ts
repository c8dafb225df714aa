// Long prompts prefilled in slices: the state of one call within float tolerance, memory independent of length.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Mamba2Session, tokenLogprobs } from "../src/index.js";
import { loadModelFromDir } from "../src/node.js";
import { countingBackend, fixtureDir, goldensOf, ints, relErr } from "./helpers.js";

const shakespeare = fileURLToPath(new URL("../../../models/mamba2-shakespeare/", import.meta.url));

describe("chunked prefill", () => {
  it("the bundled model: a 1054-token prompt in slices of 128 gives the single-call state, in the memory of 2 slices", async () => {
    const { backend, counter } = countingBackend();
    const model = await loadModelFromDir(shakespeare, { backend });
    const text = ["greedy_ids.0", "greedy_ids.1", "greedy_ids.2"].flatMap((k) => ints(goldensOf(shakespeare).get(k)!));
    const ids = Array.from({ length: 8 * 128 + 30 }, (_, i) => text[i % text.length]);
    /** Prefills `n` tokens in slices of `chunk`; the peak of live device bytes above the start. */
    const prefill = async (n: number, chunk: number) => {
      model.releaseWorkspaces();
      const base = counter.live;
      counter.peak = base;
      const session = model.createSession();
      await session.complete(ids.slice(0, n), { maxNewTokens: 0, prefillChunk: chunk });
      return { session, peak: counter.peak - base };
    };
    const short = await prefill(2 * 128 + 30, 128);
    const sliced = await prefill(ids.length, 128);
    const whole = await prefill(ids.length, ids.length);
    expect(sliced.peak).toBe(short.peak);
    expect(whole.peak).toBeGreaterThan(4 * sliced.peak);

    const [a, b] = [sliced, whole].map(({ session }) => session.saveState().cache);
    expect(a.seqLen).toBe(ids.length);
    for (let l = 0; l < model.dims.layers; l++) {
      expect(relErr(await backend.readF32(a.conv[l]), await backend.readF32(b.conv[l]))).toBeLessThan(1e-6);
      expect(relErr(await backend.readF32(a.ssm[l]), await backend.readF32(b.ssm[l]))).toBeLessThan(1e-6);
    }
    const next = (s: Mamba2Session) => s.complete(undefined, { maxNewTokens: 8 });
    expect((await next(sliced.session)).tokens).toEqual((await next(whole.session)).tokens);
  });

  it("log-probabilities of a sequence fed in slices equal the golden loss", async () => {
    const dir = fixtureDir("tiny");
    const g = goldensOf(dir);
    const model = await loadModelFromDir(dir);
    const ids = ints(g.get("input_ids_a")!);
    const lp = await tokenLogprobs(model, ids, { prefillChunk: 5 });
    expect(lp).toHaveLength(ids.length - 1);
    expect(-lp.reduce((s, x) => s + x, 0) / lp.length).toBeCloseTo(g.get("loss_a")!.values[0], 5);
    const whole = await tokenLogprobs(model, ids);
    expect(relErr(lp, whole)).toBeLessThan(1e-5);
  });
});
