// Cache handling and the model's input checks (tiny fixture, reference backend).
import { beforeAll, describe, expect, it } from "vitest";
import type { Mamba2Model } from "../src/index.js";
import { loadModelFromDir } from "../src/node.js";
import { fixtureDir, maxAbsDiff } from "./helpers.js";

let model: Mamba2Model;
beforeAll(async () => {
  model = await loadModelFromDir(fixtureDir("tiny"));
});

const states = async (c: ReturnType<Mamba2Model["createCache"]>) =>
  Promise.all([...c.conv, ...c.ssm].map((t) => model.backend.readF32(t)));

describe("cache", () => {
  it("clone is independent, reset returns to the empty state", async () => {
    const cache = model.createCache(1);
    await model.forward([[3, 4, 5, 6]], { cache, logits: "none" });
    const fork = cache.clone();
    const a = await model.forward([[7]], { cache });
    const b = await model.forward([[7]], { cache: fork });
    expect(maxAbsDiff(a.logits!, b.logits!)).toBe(0);
    await model.forward([[8]], { cache: fork });
    expect(fork.seqLen).toBe(6);
    expect(cache.seqLen).toBe(5);
    cache.reset();
    expect(cache.seqLen).toBe(0);
    for (const s of await states(cache)) expect(s.every((v) => v === 0)).toBe(true);
    const fresh = await model.forward([[3, 4]], { cache, logits: "last" });
    const direct = await model.forward([[3, 4]], { logits: "last" });
    expect(maxAbsDiff(fresh.logits!, direct.logits!)).toBe(0);
  });

  it("one token at a time through the recurrence equals one chunked prefill", async () => {
    const ids = [9, 8, 7, 6, 5, 4, 3, 2, 1, 10, 11, 12, 13, 14, 15, 16, 17, 18];
    const whole = model.createCache(1);
    const full = await model.forward([ids], { cache: whole });
    const steps = model.createCache(1);
    const v = model.dims.vocab;
    for (let t = 0; t < ids.length; t++) {
      const r = await model.forward([[ids[t]]], { cache: steps });
      expect(maxAbsDiff(r.logits!, full.logits!.subarray(t * v, (t + 1) * v))).toBeLessThan(1e-4);
    }
    const [a, b] = [await states(whole), await states(steps)];
    a.forEach((s, i) => expect(maxAbsDiff(s, b[i])).toBeLessThan(1e-5));
  });
});

describe("input checks", () => {
  it.each([
    [[[1, 2], [3]], {}, /rows differ in length: row 0 has 2, row 1 has 1 \(left-pad them\)/],
    [[[1, -1]], {}, /token id -1 in row 0 is out of range \[0, 300\)/],
    [[[1, 2.5]], {}, /token id 2.5 in row 0 is out of range/],
    [[[]], {}, /input ids are empty/],
    [[[1, 2]], { attentionMask: [[1]] }, /attention mask shape \[1, 1\] does not match the ids \[1, 2\]/],
    [[[1, 2]], { attentionMask: [[1, 2]] }, /attention mask values must be 0 or 1/],
  ])("%j %j", async (ids, opts, message) => {
    await expect(model.forward(ids as number[][], opts)).rejects.toThrow(message);
  });

  it("a cache must match the batch", async () => {
    await expect(model.forward([[1], [2]], { cache: model.createCache(1) })).rejects.toThrow(/cache holds 1 sequences but the input has 2 rows/);
    expect(() => model.createCache(0)).toThrow(/batch size must be a positive integer, found 0/);
  });
});
