import { describe, expect, it } from "vitest";
import { generateAll, Rng, sampleToken } from "../src/index.js";
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
    await expect(generateAll(model, [1], { temperature: -1 })).rejects.toThrow(/temperature must be a number >= 0, found -1/);
    await expect(generateAll(model, [1], { topP: 0 })).rejects.toThrow(/top-p must be in \(0, 1\], found 0/);
    await expect(generateAll(model, [300], {})).rejects.toThrow(/token id 300 in row 0 is out of range \[0, 300\)/);
    await expect(generateAll(model, [[]], {})).rejects.toThrow(/every prompt needs at least one token/);
  });
});
