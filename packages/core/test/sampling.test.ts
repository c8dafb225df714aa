import { describe, expect, it } from "vitest";
import { generateAll, Rng, sampleToken, TokenHistory } from "../src/index.js";
import { loadModelFromDir } from "../src/node.js";
import { fixtureDir } from "./helpers.js";

describe("sampleToken", () => {
  const logits = Float32Array.from([1, 3, 2, 3, -1]);
  it("temperature 0, top-k 1 and a tiny top-p are greedy (first of equal maxima)", () => {
    const rng = new Rng(1);
    expect(sampleToken(logits, { temperature: 0 }, rng)).toBe(1);
    for (let i = 0; i < 20; i++) expect(sampleToken(logits, { temperature: 1, topK: 1 }, rng)).toBe(1);
    for (let i = 0; i < 20; i++) expect(sampleToken(logits, { temperature: 1, topP: 1e-6 }, rng)).toBe(1);
  });
  it("top-k keeps the k most likely; the frequencies follow the softmax", () => {
    const rng = new Rng(42);
    const counts = [0, 0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 1, topK: 3 }, rng)]++;
    expect(counts[0]).toBe(0);
    expect(counts[4]).toBe(0);
    const z = 2 * Math.exp(3) + Math.exp(2);
    expect(counts[1] / n).toBeCloseTo(Math.exp(3) / z, 1);
    expect(counts[2] / n).toBeCloseTo(Math.exp(2) / z, 1);
  });
  it("top-p keeps the smallest set reaching p", () => {
    const rng = new Rng(5);
    const seen = new Set<number>();
    // probabilities ≈ [0.05, 0.39, 0.14, 0.39, 0.02]: the two 3s reach 0.7
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, { temperature: 1, topP: 0.7 }, rng));
    expect([...seen].sort()).toEqual([1, 3]);
  });
  it("min-p keeps the tokens at least min-p times as likely as the most likely one", () => {
    const rng = new Rng(3);
    const probs = Float32Array.from([0.5, 0.3, 0.15, 0.05], Math.log); // relative to the max: 1, 0.6, 0.3, 0.1
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleToken(probs, { temperature: 1, minP: 0.35 }, rng)]++;
    expect(counts[2] + counts[3]).toBe(0);
    expect(counts[0] / 4000).toBeCloseTo(0.5 / 0.8, 1);
    for (let i = 0; i < 20; i++) expect(sampleToken(probs, { temperature: 1, minP: 0.61 }, rng)).toBe(0);
  });

  describe("penalties act on the raw logits, before the choice", () => {
    const x = Float32Array.from([3, 2.9, 2, -1]);
    const history = (seen: number[], generated: [number, number][] = []) => new TokenHistory(new Set(seen), new Map(generated));
    const greedy = (o: object, h: TokenHistory, logits: Float32Array = x) => sampleToken(logits, { temperature: 0, ...o }, new Rng(0), h);
    it("repetition: a positive logit of an id in context is divided, a negative one multiplied", () => {
      expect(greedy({ repetitionPenalty: 1.01 }, history([0]))).toBe(0); // 2.970 > 2.9
      expect(greedy({ repetitionPenalty: 1.1 }, history([0]))).toBe(1); // 2.727 < 2.9
      expect(greedy({ repetitionPenalty: 2 }, history([0]), Float32Array.from([-1, -1.5]))).toBe(1); // -2 < -1.5
    });
    it("presence once per generated id, frequency once per time it was generated", () => {
      expect(greedy({ presencePenalty: 0.05 }, history([0], [[0, 3]]))).toBe(0); // 2.95
      expect(greedy({ presencePenalty: 0.2 }, history([0], [[0, 1]]))).toBe(1); // 2.8
      expect(greedy({ frequencyPenalty: 0.06 }, history([0], [[0, 1]]))).toBe(0); // 2.94
      expect(greedy({ frequencyPenalty: 0.06 }, history([0], [[0, 2]]))).toBe(1); // 2.88
      expect(greedy({ presencePenalty: 0.2 }, history([0]))).toBe(0); // in the prompt only: no presence penalty
    });
  });

  it("a generator restored from its state goes on with the same numbers", () => {
    const a = new Rng(5);
    for (let i = 0; i < 3; i++) a.next();
    const b = new Rng(a.state);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(Array.from({ length: 5 }, () => a.next()));
  });

  it("is reproducible from its seed", () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, { temperature: 2 }, rng));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });
});

describe("generate", () => {
  it("samples reproducibly, stops each row at EOS, and validates options", async () => {
    const model = await loadModelFromDir(fixtureDir("tiny"));
    const opts = { maxNewTokens: 10, temperature: 1.5, topK: 50, seed: 3, eosTokenId: null };
    const a = await generateAll(model, [[5, 6, 7], [9, 10]], opts);
    expect(a).toEqual(await generateAll(model, [[5, 6, 7], [9, 10]], opts));
    expect(a.map((r) => r.length)).toEqual([10, 10]);
    // make the 3rd token of row 0 the EOS: that row ends there (EOS included), the other goes on
    const eos = a[0][2];
    const firstEos = (row: number[]) => row.indexOf(eos);
    const b = await generateAll(model, [[5, 6, 7], [9, 10]], { ...opts, eosTokenId: eos });
    expect(b[0]).toEqual(a[0].slice(0, firstEos(a[0]) + 1));
    expect(b[1]).toEqual(firstEos(a[1]) >= 0 ? a[1].slice(0, firstEos(a[1]) + 1) : a[1]);
    // one generator per row: row b of a batch is its unbatched run with seed b
    const rows = await generateAll(model, [[5, 6, 7], [5, 6, 7]], { ...opts, seed: [3, 4] });
    expect(rows[0]).toEqual(a[0]);
    expect(rows[1]).toEqual((await generateAll(model, [5, 6, 7], { ...opts, seed: 4 }))[0]);
    expect(rows[1]).not.toEqual(rows[0]);
    await expect(generateAll(model, [1], { temperature: -1 })).rejects.toThrow(/temperature must be a number >= 0, found -1/);
    await expect(generateAll(model, [1], { topP: 0 })).rejects.toThrow(/top-p must be in \(0, 1\], found 0/);
    await expect(generateAll(model, [300], {})).rejects.toThrow(/token id 300 in row 0 is out of range \[0, 300\)/);
    await expect(generateAll(model, [[]], {})).rejects.toThrow(/every prompt needs at least one token/);
  });
});
