// Streaming generation: goldens through the delta API, exact batches, stop strings, abort, option checks.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { type GenerationDelta, type Mamba2Model, StopText, type TokenDecoder } from "../src/index.js";
import { loadModelFromDir } from "../src/node.js";
import { countingBackend, fixtureDir, goldensOf, ints } from "./helpers.js";

async function collect(stream: AsyncIterable<GenerationDelta>): Promise<GenerationDelta[]> {
  const out: GenerationDelta[] = [];
  for await (const d of stream) out.push(d);
  return out;
}

/** One letter per id: text whose positions are the tokens' positions. */
const letters: TokenDecoder = { createStreamDecoder: () => ({ push: (id) => String.fromCharCode(97 + (id % 26)), flush: () => "" }) };

describe.each(["tiny", "groups"])("the fixture %s through model.generate", (name) => {
  const dir = fixtureDir(name);
  const g = goldensOf(dir);
  const info = JSON.parse(readFileSync(`${dir}golden.json`, "utf8")) as { new_tokens: number };
  const ids = (k: string) => ints(g.get(k)!);
  let model: Mamba2Model;
  beforeAll(async () => {
    model = await loadModelFromDir(dir);
  });

  it.each(["a", "b"])("greedy tokens of prompt %s arrive one delta at a time", async (p) => {
    const deltas = await collect(model.generate(ids(`input_ids_${p}`), { maxNewTokens: info.new_tokens, eosTokenId: null }));
    expect(deltas.map((d) => d.token)).toEqual(ids(`greedy_tokens_${p}`));
    expect(deltas.every((d) => d.row === 0 && d.text === "")).toBe(true);
    expect(deltas.map((d) => d.finish)).toEqual([...Array(info.new_tokens - 1).fill(undefined), "length"]);
  });

  it("a left-padded batch streams each step's rows in order, each row its golden", async () => {
    const [b, t] = g.get("batch_input_ids")!.shape;
    const mask = ids("batch_attention_mask");
    const prompts = Array.from({ length: b }, (_, i) => ids("batch_input_ids").slice(i * t, (i + 1) * t).filter((_, j) => mask[i * t + j] === 1));
    const deltas = await collect(model.generate(prompts, { maxNewTokens: info.new_tokens, eosTokenId: null }));
    expect(deltas.map((d) => d.row)).toEqual(Array.from({ length: b * info.new_tokens }, (_, i) => i % b));
    const rows = Array.from({ length: b }, (_, r) => deltas.filter((d) => d.row === r).map((d) => d.token));
    expect(rows.flat()).toEqual(ids("batch_greedy_tokens"));
  });
});

describe("generation on tiny", () => {
  let model: Mamba2Model;
  const g = goldensOf(fixtureDir("tiny"));
  const promptA = ints(g.get("input_ids_a")!);
  const greedyA = ints(g.get("greedy_tokens_a")!);
  beforeAll(async () => {
    model = await loadModelFromDir(fixtureDir("tiny"));
  });

  // 64 prompts of 1 to 23 tokens
  const prompts = Array.from({ length: 64 }, (_, b) => Array.from({ length: 1 + ((b * 7) % 23) }, (_, t) => 3 + ((b * 31 + t * 17) % 290)));
  const alone = (o: object) => Promise.all(prompts.map(async (p) => (await model.createSession().complete(p, o)).tokens[0]));

  it("a batch of 64 prompts of different lengths: each row exactly its unbatched run, greedy and sampled", async () => {
    for (const o of [{ maxNewTokens: 6, eosTokenId: null }, { maxNewTokens: 6, eosTokenId: null, temperature: 1.2, topK: 40, seed: 9 }]) {
      const batch = await model.createSession().complete(prompts, o);
      expect(batch.tokens).toEqual(await alone(o));
    }
  });

  it("each row of a batch stops on its own at EOS and is masked afterwards", async () => {
    const free = await alone({ maxNewTokens: 6, eosTokenId: null });
    // the most frequent generated id as EOS: rows end at different steps, or never
    const counts = new Map<number, number>();
    for (const t of free.flat()) counts.set(t, (counts.get(t) ?? 0) + 1);
    const eos = [...counts].sort((a, b) => b[1] - a[1])[0][0];
    const cut = free.map((row) => (row.includes(eos) ? row.slice(0, row.indexOf(eos) + 1) : row));
    expect(new Set(cut.map((r) => r.length)).size).toBeGreaterThan(2);
    const session = model.createSession();
    const r = await session.complete(prompts, { maxNewTokens: 6, eosTokenId: eos });
    expect(r.tokens).toEqual(cut);
    expect(r.finish).toEqual(cut.map((row) => (row[row.length - 1] === eos ? "eos" : "length")));
    // a stopped row's state went on no further: continuing it equals continuing its unbatched run
    const b = cut.findIndex((row) => row.length === 1);
    const single = model.createSession();
    await single.complete(prompts[b], { maxNewTokens: 1, eosTokenId: eos });
    const next = await session.complete(undefined, { maxNewTokens: 3, eosTokenId: null });
    expect(next.tokens[b]).toEqual((await single.complete(undefined, { maxNewTokens: 3, eosTokenId: null })).tokens[0]);
  });

  it("stop strings end a row: the text stops before them, the tokens include the one completing them", async () => {
    const text = greedyA.map((id) => String.fromCharCode(97 + (id % 26))).join("");
    const stop = text.slice(5, 8);
    const at = text.indexOf(stop);
    const deltas = await collect(model.generate(promptA, { maxNewTokens: 12, eosTokenId: null, decoder: letters, stop: ["zzzzzz", stop] }));
    expect(deltas.map((d) => d.token)).toEqual(greedyA.slice(0, at + stop.length));
    expect(deltas.map((d) => d.text).join("")).toBe(text.slice(0, at));
    expect(deltas[deltas.length - 1].finish).toBe("stop");
    const whole = await collect(model.generate(promptA, { maxNewTokens: 12, eosTokenId: null, decoder: letters }));
    expect(whole.map((d) => d.text).join("")).toBe(text);
  });

  it("holds back text that may begin a stop string until the next pieces decide", () => {
    const pieces = ["ab", "c\n", "x\n", "\nd", "e"];
    const decoder: TokenDecoder = { createStreamDecoder: () => ({ push: (i) => pieces[i], flush: () => "!" }) };
    const s = new StopText(decoder, ["\n\n"]);
    expect([0, 1, 2].map((i) => s.push(i))).toEqual([
      { text: "ab", stopped: false },
      { text: "c", stopped: false },
      { text: "\nx", stopped: false },
    ]);
    expect(s.push(3)).toEqual({ text: "", stopped: true });
    const t = new StopText(decoder, ["\n\n"]);
    t.push(1);
    expect(t.end()).toEqual({ text: "\n!", stopped: false });
  });

  it("the callback form gets the same deltas and returns each row's tokens, text, log-probs and finish", async () => {
    const seen: GenerationDelta[] = [];
    const r = await model.createSession().complete(promptA, { maxNewTokens: 12, eosTokenId: null, decoder: letters, logprobs: true, onDelta: (d) => seen.push(d) });
    expect(r.tokens).toEqual([greedyA]);
    expect(seen.map((d) => d.token)).toEqual(greedyA);
    expect(r.text[0]).toBe(seen.map((d) => d.text).join(""));
    expect(r.finish).toEqual(["length"]);
    // greedy: each token is the most likely one, log p from the golden logits
    const logits = g.get("greedy_logits_a")!.values;
    const v = model.dims.vocab;
    r.logprobs![0].forEach((lp, s) => {
      const row = logits.subarray(s * v, (s + 1) * v);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      expect(lp).toBeCloseTo(row[greedyA[s]] - lse, 4);
    });
  });

  it("abort stops before the next step; the session can go on exactly", async () => {
    const controller = new AbortController();
    const session = model.createSession();
    const got: number[] = [];
    const run = async () => {
      for await (const d of session.generate(promptA, { maxNewTokens: 12, eosTokenId: null, signal: controller.signal })) {
        got.push(d.token);
        if (got.length === 3) controller.abort();
      }
    };
    await expect(run()).rejects.toThrow(expect.objectContaining({ name: "AbortError" }));
    expect(got).toEqual(greedyA.slice(0, 3));
    expect(session.seqLen).toBe(promptA.length + 2); // the third token is chosen, not fed
    const rest = await session.complete(undefined, { maxNewTokens: 9, eosTokenId: null });
    expect([...got, ...rest.tokens[0]]).toEqual(greedyA);
  });

  it("abort during a chunked prefill stops after the slice in progress", async () => {
    const controller = new AbortController();
    let calls = 0;
    const { backend } = countingBackend(() => {
      if (++calls === 2) controller.abort();
    });
    const m = await loadModelFromDir(fixtureDir("tiny"), { backend });
    const session = m.createSession();
    await expect(session.complete(promptA, { prefillChunk: 4, signal: controller.signal })).rejects.toThrow(expect.objectContaining({ name: "AbortError" }));
    expect(calls).toBe(2);
    expect(session.seqLen).toBe(8);
  });

  it.each([
    [{ maxNewTokens: -1 }, /max new tokens must be an integer >= 0, found -1/],
    [{ minP: 2 }, /min-p must be in \[0, 1\], found 2/],
    [{ repetitionPenalty: 0 }, /repetition penalty must be a number > 0, found 0/],
    [{ presencePenalty: NaN }, /presence penalty must be a finite number, found NaN/],
    [{ frequencyPenalty: Infinity }, /frequency penalty must be a finite number, found Infinity/],
    [{ seed: 1.5 }, /seed must be an integer, found 1.5/],
    [{ seed: [1, 2] }, /seed: 2 seeds for 1 rows/],
    [{ prefillChunk: 0 }, /prefill chunk must be a positive integer, found 0/],
    [{ stop: "" }, /stop strings must be non-empty strings, found ""/],
    [{ stop: "x" }, /stop strings need a decoder: pass the tokenizer as `decoder`/],
    [{ eosTokenId: 1.5 }, /EOS token ids must be integers, found 1.5/],
  ])("rejects %j before touching the session", async (o, message) => {
    const s = model.createSession();
    await expect(s.complete([1, 2], o as object)).rejects.toThrow(message);
    expect(s.batch).toBe(0);
  });

  it("rejects input that does not fit the session", async () => {
    const s = model.createSession();
    await expect(s.complete(undefined)).rejects.toThrow(/generate: nothing to continue from: give a prompt/);
    await s.complete([[1, 2], [3]], { maxNewTokens: 0 });
    await expect(s.complete([[4]])).rejects.toThrow(/the session holds 2 sequences but the input has 1 rows/);
    await expect(s.complete([[4], []])).rejects.toThrow(/row 1 has no new tokens while others do/);
    await expect(s.complete([[4], [300]])).rejects.toThrow(/token id 300 in row 1 is out of range \[0, 300\)/);
    expect(s.seqLen).toBe(2);
  });
});
