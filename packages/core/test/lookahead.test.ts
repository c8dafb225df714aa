// Decoding one step ahead (Backend.queued): the reference backend marked queued must give exactly the tokens,
// generator states and cache of plain step-by-step decoding, also where rows end mid-way, the consumer stops
// early, or an abort comes, and the session continues afterwards.
import { beforeAll, describe, expect, it } from "vitest";
import { createReferenceBackend, type GenerateOptions, type Mamba2Model, type Mamba2Session } from "../src/index.js";
import { loadModelFromDir } from "../src/node.js";
import { fixtureDir, goldensOf, ints } from "./helpers.js";

const g = goldensOf(fixtureDir("tiny"));
const promptA = ints(g.get("input_ids_a")!);
const promptB = ints(g.get("input_ids_b")!);
const greedyA = ints(g.get("greedy_tokens_a")!);

let plain: Mamba2Model;
let queued: Mamba2Model;
let copies = 0;
let allocations = 0;
beforeAll(async () => {
  plain = await loadModelFromDir(fixtureDir("tiny"));
  const ref = createReferenceBackend();
  const copy = ref.copy.bind(ref);
  const zeros = ref.zeros.bind(ref);
  queued = await loadModelFromDir(fixtureDir("tiny"), {
    backend: { ...ref, queued: true, copy: (d, s) => (copies++, copy(d, s)), zeros: (shape, dtype) => (allocations++, zeros(shape, dtype)) },
  });
});

/** Everything a session holds after a run: the deltas, the pending tokens, the generators and the cache. */
async function run(model: Mamba2Model, steps: (s: Mamba2Session) => Promise<unknown[]>) {
  const s = model.createSession();
  const out = await steps(s);
  const state = s.saveState();
  const caches = await Promise.all([0, 1].flatMap((l) => [state.cache.convState(l), state.cache.ssmState(l)]));
  return { out, seqLen: s.seqLen, pending: state.pending, rngs: state.rngs.map((r) => r.state), caches: caches.map((c) => Array.from(c.data)) };
}

const sameOnBoth = async (steps: (s: Mamba2Session) => Promise<unknown[]>) => {
  const before = copies;
  const want = await run(plain, steps);
  const got = await run(queued, steps);
  expect(copies, "the queued backend decoded ahead (device copies)").toBeGreaterThan(before);
  expect(got).toEqual(want);
};

describe("decoding one step ahead on a queued backend", () => {
  it("greedy, one row: the golden tokens", async () => {
    const s = queued.createSession();
    expect((await s.complete(promptA, { maxNewTokens: 12, eosTokenId: null })).tokens).toEqual([greedyA]);
  });

  it("a session keeps its step's tensors from one call to the next (a replayed step stays recorded)", async () => {
    const s = queued.createSession();
    await s.complete(promptA, { maxNewTokens: 4, eosTokenId: null });
    const before = allocations;
    await s.complete(undefined, { maxNewTokens: 4, eosTokenId: null });
    expect(allocations).toBe(before);
    s.free();
  });

  it("a batch where one row ends on EOS mid-way (greedy), then continued with new input", async () => {
    const o: GenerateOptions = { maxNewTokens: 10, eosTokenId: greedyA[3] };
    await sameOnBoth(async (s) => [await s.complete([promptA, promptB], o), await s.complete([[5, 6], [7]], { maxNewTokens: 6 })]);
  });

  it("going on without new input, a row ends on EOS at the first step", async () => {
    const stop: GenerateOptions = { maxNewTokens: 5, eosTokenId: greedyA[3] };
    await sameOnBoth(async (s) => [await s.complete([promptA, promptB], { maxNewTokens: 3, eosTokenId: null }), await s.complete(undefined, stop)]);
  });

  it("a sampled batch with seeds where rows end on EOS, then continued", async () => {
    const o: GenerateOptions = { maxNewTokens: 14, temperature: 1.2, topK: 40, topP: 0.9, seed: [11, 12], eosTokenId: [greedyA[2], 17, 42] };
    await sameOnBoth(async (s) => [await s.complete([promptA, promptB], o), await s.complete(undefined, { maxNewTokens: 5, temperature: 0.9 })]);
  });

  it("the consumer stops early, then the session goes on", async () => {
    await sameOnBoth(async (s) => {
      const seen: number[] = [];
      for await (const d of s.generate([promptA, promptB], { maxNewTokens: 9, eosTokenId: null, temperature: 1, seed: 3 })) {
        seen.push(d.token);
        if (seen.length === 5) break;
      }
      return [seen, await s.complete(undefined, { maxNewTokens: 4, eosTokenId: null })];
    });
  });

  it("a generator dropped without being closed: the session goes on from the last step taken", async () => {
    await sameOnBoth(async (s) => {
      const g = s.generate([promptA, promptB], { maxNewTokens: 9, eosTokenId: null });
      const seen = [(await g.next()).value, (await g.next()).value, (await g.next()).value];
      return [seen, await s.complete(undefined, { maxNewTokens: 4, eosTokenId: null }), await s.complete([[3], [4]], { maxNewTokens: 3 })];
    });
  });

  it("an abort between steps leaves the state of the last step taken", async () => {
    await sameOnBoth(async (s) => {
      const ac = new AbortController();
      const seen: number[] = [];
      const err = await (async () => {
        for await (const d of s.generate(promptA, { maxNewTokens: 9, eosTokenId: null, signal: ac.signal })) {
          seen.push(d.token);
          if (seen.length === 3) ac.abort();
        }
      })().catch((e: Error) => e.name);
      return [seen, err, await s.complete(undefined, { maxNewTokens: 3, eosTokenId: null })];
    });
  });
});
