// Saved, serialized, reloaded and forked states: continuing equals the uninterrupted run; bad bytes fail clearly.
import { beforeAll, describe, expect, it } from "vitest";
import { buildModel, deserializeState, type Mamba2Model, type Mamba2Session, serializeState, syntheticWeights } from "../src/index.js";
import { loadModelFromDir } from "../src/node.js";
import { fixtureDir, goldensOf, ints } from "./helpers.js";

const g = goldensOf(fixtureDir("tiny"));
const promptA = ints(g.get("input_ids_a")!);
const promptB = ints(g.get("input_ids_b")!);
const greedyA = ints(g.get("greedy_tokens_a")!);

let model: Mamba2Model;
beforeAll(async () => {
  model = await loadModelFromDir(fixtureDir("tiny"));
});

/** Saves the session's state to bytes and continues from them in a new session. */
async function throughBytes(session: Mamba2Session): Promise<Mamba2Session> {
  const bytes = await serializeState(session.saveState());
  const restored = model.createSession();
  restored.loadState(await deserializeState(model, bytes));
  return restored;
}

describe("save → bytes → load → continue", () => {
  it("after a prefill without generation: the golden greedy tokens", async () => {
    const s = model.createSession();
    expect(await s.complete(promptA, { maxNewTokens: 0 })).toMatchObject({ tokens: [[]], finish: [null] });
    const r = await (await throughBytes(s)).complete(undefined, { maxNewTokens: 12, eosTokenId: null });
    expect(r.tokens).toEqual([greedyA]);
  });

  it("in the middle of a greedy run: the rest of the golden tokens", async () => {
    const s = model.createSession();
    const first = await s.complete(promptA, { maxNewTokens: 5, eosTokenId: null });
    const rest = await (await throughBytes(s)).complete(undefined, { maxNewTokens: 7, eosTokenId: null });
    expect([...first.tokens[0], ...rest.tokens[0]]).toEqual(greedyA);
  });

  it("in the middle of a sampled batch with penalties: exactly the uninterrupted tokens (generators and history saved)", async () => {
    const o = { eosTokenId: null, temperature: 1.1, topK: 50, topP: 0.95, minP: 0.02, repetitionPenalty: 1.3, presencePenalty: 0.4, frequencyPenalty: 0.3 };
    const whole = await model.createSession().complete([promptA, promptB], { ...o, seed: [3, 4], maxNewTokens: 16 });
    const s = model.createSession();
    const first = await s.complete([promptA, promptB], { ...o, seed: [3, 4], maxNewTokens: 6 });
    const rest = await (await throughBytes(s)).complete(undefined, { ...o, maxNewTokens: 10 });
    expect(first.tokens.map((row, b) => [...row, ...rest.tokens[b]])).toEqual(whole.tokens);
  });

  it("new input after a saved state continues the context: same as feeding it in one session", async () => {
    const s = model.createSession();
    await s.complete(promptA, { maxNewTokens: 3, eosTokenId: null });
    const direct = s.fork();
    const a = await (await throughBytes(s)).complete([7, 8, 9], { maxNewTokens: 6, eosTokenId: null });
    expect(a.tokens).toEqual((await direct.complete([7, 8, 9], { maxNewTokens: 6, eosTokenId: null })).tokens);
  });
});

describe("fork and saved snapshots", () => {
  it("forks continue independently, each as a fresh run with its own seed", async () => {
    const o = { eosTokenId: null, temperature: 1.3, maxNewTokens: 10 };
    const s = model.createSession();
    await s.complete(promptA, { maxNewTokens: 0 });
    const fork = s.fork();
    const a = await s.complete(undefined, { ...o, seed: 1 });
    const b = await fork.complete(undefined, { ...o, seed: 2 });
    expect(a.tokens).toEqual((await model.createSession().complete(promptA, { ...o, seed: 1 })).tokens);
    expect(b.tokens).toEqual((await model.createSession().complete(promptA, { ...o, seed: 2 })).tokens);
    expect(a.tokens).not.toEqual(b.tokens);
    expect([s.seqLen, fork.seqLen]).toEqual([promptA.length + 9, promptA.length + 9]);
  });

  it("loadState rewinds to a snapshot, which stays usable", async () => {
    const s = model.createSession();
    await s.complete(promptA, { maxNewTokens: 2, eosTokenId: null });
    const snapshot = s.saveState();
    const first = await s.complete(undefined, { maxNewTokens: 4, eosTokenId: null });
    s.loadState(snapshot);
    expect((await s.complete(undefined, { maxNewTokens: 4, eosTokenId: null })).tokens).toEqual(first.tokens);
    s.loadState(snapshot);
    expect((await s.complete(undefined, { maxNewTokens: 4, eosTokenId: null })).tokens).toEqual([greedyA.slice(2, 6)]);
  });
});

describe("the byte format", () => {
  it("a versioned header with the model's fingerprint and shapes, then float32 data of a size independent of the context", async () => {
    const sizes: number[] = [];
    for (const [p, first] of [[promptA, greedyA[0]], [promptB, ints(g.get("greedy_tokens_b")!)[0]]] as const) {
      const s = model.createSession();
      await s.complete(p, { maxNewTokens: 1, eosTokenId: null });
      const bytes = await serializeState(s.saveState());
      expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe("MAMBA2ST");
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect(view.getUint32(8, true)).toBe(1);
      const n = view.getUint32(12, true);
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + n)));
      expect(header).toMatchObject({ dtype: "f32", batch: 1, seq_len: p.length, conv: [1, 160, 4], ssm: [1, 8, 16, 16], logits: null, pending: [first] });
      expect(header.model).toMatchObject({ num_hidden_layers: 2, hidden_size: 64, vocab_size: 300, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });
      sizes.push(bytes.length - 16 - n);
    }
    expect(sizes).toEqual([4 * 2 * (160 * 4 + 8 * 16 * 16), 4 * 2 * (160 * 4 + 8 * 16 * 16)]);
  });

  describe("bad bytes: one line naming what is wrong", () => {
    let bytes: Uint8Array;
    beforeAll(async () => {
      const s = model.createSession();
      await s.complete(promptA, { maxNewTokens: 0 });
      bytes = await serializeState(s.saveState());
    });
    const edit = (f: (b: Uint8Array) => void) => {
      const b = bytes.slice();
      f(b);
      return b;
    };
    it.each([
      ["bad magic", () => edit((b) => (b[0] = 0x4e)), /^s.bin: not a Mamba2 state \(no MAMBA2ST magic\)$/],
      ["too short", () => bytes.subarray(0, 7), /^s.bin: not a Mamba2 state/],
      ["another version", () => edit((b) => new DataView(b.buffer).setUint32(8, 2, true)), /^s.bin: state format version 2 is not supported \(this runtime reads version 1\)$/],
      ["a truncated header", () => bytes.subarray(0, 40), /^s.bin: truncated: the header needs \d+ bytes, there are 40$/],
      ["truncated data", () => bytes.subarray(0, bytes.length - 4), /^s.bin: truncated: \d+ bytes, the state needs \d+$/],
      ["trailing bytes", () => Uint8Array.from([...bytes, 0, 0, 0, 0]), /^s.bin: 4 unexpected bytes after the state's \d+$/],
    ])("%s", async (_, make, message) => {
      await expect(deserializeState(model, make(), "s.bin")).rejects.toThrow(message);
    });

    it("a state of a model of other shapes", async () => {
      const groups = await loadModelFromDir(fixtureDir("groups"));
      await expect(deserializeState(groups, bytes, "s.bin")).rejects.toThrow(/^s.bin: saved from a model with num_hidden_layers 2, this model has num_hidden_layers 3$/);
    });

    it("a state of a model of the same shapes but other weights", async () => {
      const [m1, m2] = await Promise.all([1, 2].map((seed) => buildModel(model.config, syntheticWeights(model.config, "f32", seed), {})));
      const s = m1.createSession();
      await s.complete([1, 2, 3], { maxNewTokens: 0 });
      const b = await serializeState(s.saveState());
      await expect(deserializeState(m1, b)).resolves.toBeDefined();
      await expect(deserializeState(m2, b, "s.bin")).rejects.toThrow(/^s.bin: saved from another model with the same shapes but other weights \(fingerprint [0-9a-f]{16}, this model [0-9a-f]{16}\)$/);
      expect(() => m2.createSession().loadState(s.saveState())).toThrow(/loadState: the state belongs to another model object/);
    });
  });
});
