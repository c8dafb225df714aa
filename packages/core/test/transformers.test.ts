import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { nllOf, openSafetensors, toFloat32 } from "../src/index.js";
import {
  loraAdapter, type LoraAdapter, Mamba2Config, Mamba2ForCausalLM, Mamba2Model, saveSafetensors, toSafetensors,
} from "../src/transformers/node.js";
import { fixtureDir, goldensOf, ints, maxAbsDiff, relErr } from "./helpers.js";

const TOL = 1e-4; // float32 compute against float64 goldens: max |Δ| / max(1, max |expected|)
const tiny = fixtureDir("tiny");
const g = goldensOf(tiny);
const get = (k: string) => g.get(k)!.values;
const idsA = ints(g.get("input_ids_a")!);
const loraDir = fixtureDir("tiny-lora");
const lg = goldensOf(loraDir);
const V = 300;
const tmp = () => mkdtempSync(join(tmpdir(), "mamba2-hf-"));

const weightOf = async (m: { weights: { tensors: ReadonlyMap<string, { dtype: string }>; bytes(n: string): Promise<Uint8Array> } }, name: string) =>
  toFloat32(await m.weights.bytes(name), m.weights.tensors.get(name)!.dtype.toLowerCase() as "f32");

/** The camelCase init of a config (for spreading into a changed one). */
const camelOf = (c: Mamba2Config) => Object.fromEntries(Object.keys(c.hf).filter((k) => k !== "model_type").map((k) => [k.replace(/_([a-z0-9])/g, (_, x: string) => x.toUpperCase()), c.hf[k as keyof typeof c.hf]]));

/** The fixture adapter with its adapter_config.json changed (and optionally its tensors replaced). */
async function variant(change: Record<string, unknown>, weights?: Uint8Array): Promise<LoraAdapter> {
  const config = { ...JSON.parse(readFileSync(`${loraDir}adapter_config.json`, "utf8")), ...change };
  return loraAdapter(config, await openSafetensors([weights ?? readFileSync(`${loraDir}adapter_model.safetensors`)], ["adapter_model.safetensors"]));
}

describe("Mamba2Config", () => {
  it("has transformers' defaults (Mamba-Codestral-7B's) under camelCase names", () => {
    const c = new Mamba2Config();
    expect([c.hiddenSize, c.numHiddenLayers, c.numHeads, c.headDim, c.stateSize, c.nGroups, c.vocabSize]).toEqual([4096, 64, 128, 64, 128, 8, 32768]);
    expect([c.expand, c.convKernel, c.chunkSize, c.timeStepRank, c.layerNormEpsilon, c.initializerRange]).toEqual([2, 4, 256, 256, 1e-5, 0.1]);
    expect([c.timeStepMin, c.timeStepMax, c.timeStepFloor, c.timeStepLimit]).toEqual([0.001, 0.1, 1e-4, [0, Infinity]]);
    expect([c.padTokenId, c.bosTokenId, c.eosTokenId, c.hiddenAct, c.modelType]).toEqual([1, 0, 2, "silu", "mamba2"]);
    expect([c.useBias, c.useConvBias, c.residualInFp32, c.rescalePrenormResidual, c.useCache, c.rmsNorm, c.tieWordEmbeddings]).toEqual([false, true, true, false, true, true, false]);
  });

  it("reads and writes config.json: snake_case, infinity encoded, other keys kept", () => {
    const text = readFileSync(`${tiny}config.json`, "utf8");
    const c = Mamba2Config.fromDict(text);
    expect([c.hiddenSize, c.numHeads, c.headDim, c.vocabSize, c.chunkSize, c.timeStepRank]).toEqual([64, 8, 16, 300, 8, 4]);
    expect(c.extra).toEqual({ architectures: ["Mamba2ForCausalLM"], dtype: "float32", transformers_version: "5.17.0" });
    const written = c.toJsonString();
    expect(JSON.parse(written).time_step_limit).toEqual([0, { __float__: "Infinity" }]);
    expect(JSON.parse(written)).toEqual({ ...JSON.parse(text), rms_norm: true, time_step_limit: [0, { __float__: "Infinity" }] });
    expect(Mamba2Config.fromDict(written).toDict()).toEqual(c.toDict());
    expect(Mamba2Config.fromDict(text.replace('{\n      "__float__": "Infinity"\n    }', "Infinity")).timeStepLimit).toEqual([0, Infinity]);
    expect(new Mamba2Config({ hiddenSize: 64, numHeads: 8, headDim: 16, nGroups: 2, timeStepRank: "auto" }).toDict()).toMatchObject({ hidden_size: 64, n_groups: 2, time_step_rank: 4 });
  });

  it("validates, naming the field", () => {
    expect(() => new Mamba2Config({ numHeads: 3 })).toThrow("Mamba2Config: num_heads × head_dim (3 × 64 = 192) must equal expand × hidden_size (2 × 4096 = 8192)");
    expect(() => new Mamba2Config({ hiddenSiz: 8 } as object)).toThrow("Mamba2Config: unknown field hiddenSiz");
    expect(() => Mamba2Config.fromDict({ hidden_size: -1 })).toThrow("config.json: hidden_size must be a positive integer, found -1");
    expect(() => Mamba2Config.fromDict("{", "x/config.json")).toThrow(/^x\/config.json: invalid JSON/);
  });
});

describe("the tiny fixture through Mamba2ForCausalLM and Mamba2Model", () => {
  let lm: Mamba2ForCausalLM;
  let bare: Mamba2Model;
  beforeAll(async () => {
    lm = await Mamba2ForCausalLM.fromPretrained(tiny);
    bare = await Mamba2Model.fromPretrained(tiny);
  });

  it("logits, loss, hidden states and cache of one forward", async () => {
    const out = await lm.forward({ inputIds: [idsA], labels: [idsA], outputHiddenStates: true });
    expect(out.logits.dims).toEqual([1, 21, V]);
    expect(relErr(out.logits.data, get("logits_a_f64"))).toBeLessThan(TOL);
    expect(Math.abs(out.loss! - get("loss_a")[0])).toBeLessThan(1e-5);
    expect(out.hiddenStates!.map((h) => h.dims)).toEqual([[1, 21, 64], [1, 21, 64], [1, 21, 64]]); // after each block, after norm_f
    expect(relErr(out.hiddenStates![2].data, get("last_hidden_a"))).toBeLessThan(TOL);
    for (let l = 0; l < 2; l++) {
      const conv = await out.cacheParams!.convState(l);
      expect(conv.dims).toEqual([1, 64 * 2 + 2 * 16, 4]);
      expect(relErr(conv.data, get(`conv_state.${l}`))).toBeLessThan(TOL);
      const ssm = await out.cacheParams!.ssmState(l);
      expect(ssm.dims).toEqual([1, 8, 16, 16]);
      expect(relErr(ssm.data, get(`ssm_state.${l}`))).toBeLessThan(TOL);
    }
    await expect(out.cacheParams!.ssmState(2)).rejects.toThrow("ssm state of layer 2: the cache has layers 0 to 1");
  });

  it("Mamba2Model: the last hidden state after norm_f, the same blocks", async () => {
    const out = await bare.forward({ inputIds: idsA, outputHiddenStates: true, useCache: false });
    expect(out.lastHiddenState.dims).toEqual([1, 21, 64]);
    expect(relErr(out.lastHiddenState.data, get("last_hidden_a"))).toBeLessThan(TOL);
    expect(out.cacheParams).toBeUndefined();
    const full = await lm.forward({ inputIds: idsA, outputHiddenStates: true });
    out.hiddenStates!.forEach((h, i) => expect(h.data).toEqual(full.hiddenStates![i].data));
    expect(bare.weights.tensors.has("lm_head.weight")).toBe(false);
  });

  it("continues from cacheParams", async () => {
    const first = await lm.forward({ inputIds: [idsA.slice(0, 10)], logitsToKeep: 1 });
    const rest = await lm.forward({ inputIds: [idsA.slice(10)], cacheParams: first.cacheParams });
    expect(rest.cacheParams).toBe(first.cacheParams);
    expect(relErr(rest.logits.data, get("continue_logits_a"))).toBeLessThan(TOL);
  });

  it("inputsEmbeds equal to the embedding of inputIds give the same logits", async () => {
    const embeds = await lm.getInputEmbeddings()([idsA]);
    expect(embeds.dims).toEqual([1, 21, 64]);
    const a = await lm.forward({ inputsEmbeds: embeds });
    const b = await lm.forward({ inputIds: [idsA] });
    expect(a.logits.data).toEqual(b.logits.data);
    await expect(lm.forward({ inputIds: idsA, inputsEmbeds: embeds })).rejects.toThrow("specify exactly one of inputIds or inputsEmbeds");
    await expect(lm.forward({})).rejects.toThrow("specify exactly one of inputIds or inputsEmbeds");
    await expect(lm.forward({ inputsEmbeds: { data: embeds.data, dims: [1, 21, 32, 2] } })).rejects.toThrow("input embeddings must have dims [batch, tokens, 64], found [1, 21, 32, 2]");
  });

  it("labels: shifted inside, -100 ignored", async () => {
    const labels = idsA.map((id, t) => (t < 5 || t === 12 ? -100 : id));
    const { loss, logits } = await lm.forward({ inputIds: idsA, labels });
    const ref = get("logits_a_f64");
    let sum = 0;
    let n = 0;
    for (let t = 5; t < 21; t++) if (t !== 12) (sum += nllOf(ref.subarray((t - 1) * V, t * V), idsA[t]), n++);
    expect(n).toBe(15);
    expect(Math.abs(loss! - sum / n)).toBeLessThan(1e-5);
    expect(logits.dims).toEqual([1, 21, V]);
    expect((await lm.forward({ inputIds: idsA, labels: idsA.map(() => -100) })).loss).toBeNaN();
    await expect(lm.forward({ inputIds: idsA, labels: [...labels.slice(1), 300] })).rejects.toThrow("label 300 in row 0 is out of range [0, 300) (or -100 to ignore)");
    await expect(lm.forward({ inputIds: idsA, labels: labels.slice(1) })).rejects.toThrow("labels shape [1, 20] does not match the input [1, 21]");
    await expect(lm.forward({ inputIds: idsA, labels, logitsToKeep: 1 })).rejects.toThrow("labels need the logits of every position");
  });

  it("logitsToKeep: the last k positions, or the positions listed", async () => {
    const all = (await lm.forward({ inputIds: idsA })).logits.data;
    const row = (t: number) => Array.from(all.subarray(t * V, (t + 1) * V));
    const one = await lm.forward({ inputIds: idsA, logitsToKeep: 1 });
    expect(one.logits.dims).toEqual([1, 1, V]);
    expect(maxAbsDiff(one.logits.data, row(20))).toBeLessThan(1e-6);
    const three = await lm.forward({ inputIds: idsA, logitsToKeep: 3 });
    expect(three.logits.dims).toEqual([1, 3, V]);
    expect(Array.from(three.logits.data)).toEqual([...row(18), ...row(19), ...row(20)]);
    const listed = await lm.forward({ inputIds: idsA, logitsToKeep: [0, -1] });
    expect(Array.from(listed.logits.data)).toEqual([...row(0), ...row(20)]);
    await expect(lm.forward({ inputIds: idsA, logitsToKeep: [21] })).rejects.toThrow("logitsToKeep position 21 is out of range for 21 positions");
    await expect(lm.forward({ inputIds: idsA, logitsToKeep: -1 })).rejects.toThrow("logitsToKeep must be an integer >= 0 or a list of positions, found -1");
  });

  it("generate: the prompt and its greedy continuation; left-padded batches", async () => {
    expect(await lm.generate([idsA], { maxNewTokens: 12, eosTokenId: null })).toEqual([[...idsA, ...ints(g.get("greedy_tokens_a")!)]]);
    const [b, t] = g.get("batch_input_ids")!.shape;
    const rows = (k: string) => Array.from({ length: b }, (_, i) => ints(g.get(k)!).slice(i * t, (i + 1) * t));
    const out = await lm.generate(rows("batch_input_ids"), { attentionMask: rows("batch_attention_mask"), maxNewTokens: 12, eosTokenId: null });
    const greedy = ints(g.get("batch_greedy_tokens")!);
    expect(out).toEqual(rows("batch_input_ids").map((r, i) => [...r, ...greedy.slice(i * 12, (i + 1) * 12)]));
    await expect(lm.generate(idsA.slice(0, 3), { attentionMask: [[1, 0, 1]] })).rejects.toThrow("attentionMask row 0 must be zeros (left padding) then ones, found [1, 0, 1]");
  });
});

describe("a model built from its config: transformers' initialization", () => {
  const config = new Mamba2Config({ hiddenSize: 64, numHiddenLayers: 2, numHeads: 8, headDim: 16, stateSize: 16, nGroups: 2, vocabSize: 300, useBias: true, initializerRange: 0.05 });
  const stats = (x: Float32Array) => {
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    return { mean, std: Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length), maxAbs: x.reduce((a, v) => Math.max(a, Math.abs(v)), 0) };
  };

  it("A_log = log(1..H), D = 1, norms 1, biases 0, dt in [time_step_min, time_step_max]", async () => {
    const m = new Mamba2ForCausalLM(config, { seed: 1 });
    const p = "backbone.layers.1.mixer.";
    expect(Array.from(await weightOf(m, `${p}A_log`))).toEqual(Array.from({ length: 8 }, (_, i) => Math.fround(Math.log(i + 1))));
    expect(Array.from(await weightOf(m, `${p}D`))).toEqual(new Array(8).fill(1));
    for (const n of [`${p}norm.weight`, "backbone.layers.0.norm.weight", "backbone.norm_f.weight"]) expect((await weightOf(m, n)).every((v) => v === 1)).toBe(true);
    for (const n of [`${p}in_proj.bias`, `${p}out_proj.bias`, `${p}conv1d.bias`]) expect((await weightOf(m, n)).every((v) => v === 0)).toBe(true);
    const dt = Array.from(await weightOf(m, `${p}dt_bias`)).map((v) => Math.log1p(Math.exp(v)));
    for (const v of dt) expect(v >= 0.001 * (1 - 1e-5) && v <= 0.1 * (1 + 1e-5)).toBe(true);
    expect(new Set(dt).size).toBe(8);
  });

  it("normal matrices with initializer_range, kaiming-uniform out_proj and conv1d", async () => {
    const m = new Mamba2ForCausalLM(config, { seed: 1 });
    for (const n of ["backbone.embeddings.weight", "backbone.layers.0.mixer.in_proj.weight", "lm_head.weight"]) {
      const s = stats(await weightOf(m, n));
      expect(Math.abs(s.mean)).toBeLessThan(0.002);
      expect(Math.abs(s.std / 0.05 - 1)).toBeLessThan(0.03);
    }
    const out = stats(await weightOf(m, "backbone.layers.0.mixer.out_proj.weight")); // U(±1/√128)
    expect(out.maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(128));
    expect(Math.abs(out.std / (1 / Math.sqrt(128) / Math.sqrt(3)) - 1)).toBeLessThan(0.03);
    const conv = stats(await weightOf(m, "backbone.layers.0.mixer.conv1d.weight")); // U(±1/√K)
    expect(conv.maxAbs).toBeLessThanOrEqual(0.5);
    expect(conv.maxAbs).toBeGreaterThan(0.45);
    const rescaled = new Mamba2ForCausalLM(new Mamba2Config({ ...camelOf(config), rescalePrenormResidual: true }), { seed: 1 });
    const before = await weightOf(m, "backbone.layers.0.mixer.out_proj.weight");
    const after = await weightOf(rescaled, "backbone.layers.0.mixer.out_proj.weight");
    expect(maxAbsDiff(after, before.map((v) => v / Math.SQRT2))).toBeLessThan(1e-7);
  });

  it("dt floored at time_step_floor; seeded", async () => {
    const floored = new Mamba2ForCausalLM(new Mamba2Config({ ...camelOf(config), timeStepMin: 1e-5, timeStepMax: 1e-4, timeStepFloor: 5e-5 }));
    const dt = Array.from(await weightOf(floored, "backbone.layers.0.mixer.dt_bias")).map((v) => Math.log1p(Math.exp(v)));
    expect(Math.min(...dt)).toBeGreaterThanOrEqual(5e-5 * (1 - 1e-4));
    expect(dt.some((v) => Math.abs(v - 5e-5) < 1e-9)).toBe(true);
    const [a, b, c] = [1, 1, 2].map((seed) => new Mamba2ForCausalLM(config, { seed }));
    const name = "backbone.layers.0.mixer.in_proj.weight";
    expect(await a.weights.bytes(name)).toEqual(await b.weights.bytes(name));
    expect(await a.weights.bytes(name)).not.toEqual(await c.weights.bytes(name));
  });

  it("runs, and the bare model has no head", async () => {
    const out = await new Mamba2ForCausalLM(config).forward({ inputIds: [[1, 2, 3]] });
    expect(out.logits.dims).toEqual([1, 3, 300]);
    expect(out.logits.data.every(Number.isFinite)).toBe(true);
    const bare = new Mamba2Model(config);
    expect(bare.weights.tensors.has("lm_head.weight")).toBe(false);
    expect((await bare.forward({ inputIds: [1, 2, 3] })).lastHiddenState.dims).toEqual([1, 3, 64]);
  });
});


describe("saveSafetensors: transformers' files that load back bit-exactly", () => {
  it("an initialized model", async () => {
    const config = new Mamba2Config({ hiddenSize: 32, numHiddenLayers: 2, numHeads: 4, headDim: 16, stateSize: 8, vocabSize: 50, nGroups: 1 });
    const m = new Mamba2ForCausalLM(config, { seed: 3 });
    const dir = tmp();
    await saveSafetensors(m, dir);
    const json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(json.architectures).toEqual(["Mamba2ForCausalLM"]);
    expect(json.time_step_limit).toEqual([0, { __float__: "Infinity" }]);
    const back = await Mamba2ForCausalLM.fromPretrained(dir);
    expect(back.config.hf).toEqual(m.config.hf);
    expect([...back.weights.tensors.keys()]).toEqual([...m.weights.tensors.keys()]);
    for (const name of m.weights.tensors.keys()) expect(await back.weights.bytes(name)).toEqual(await m.weights.bytes(name));
    const ids = { inputIds: [[3, 1, 4, 1, 5, 9, 2, 6]] };
    expect((await back.forward(ids)).logits.data).toEqual((await m.forward(ids)).logits.data);
    const mem = await toSafetensors(m);
    expect(mem["model.safetensors"]).toEqual(new Uint8Array(readFileSync(join(dir, "model.safetensors"))));
  });

  it("the tiny fixture, a bare Mamba2Model (no backbone. prefix, no head) and a tied head", async () => {
    const lm = await Mamba2ForCausalLM.fromPretrained(tiny);
    const dir = tmp();
    await saveSafetensors(lm, dir);
    expect(new Uint8Array(readFileSync(join(dir, "model.safetensors"))).length).toBeGreaterThan(0);
    const back = await Mamba2ForCausalLM.fromPretrained(dir);
    for (const name of lm.weights.tensors.keys()) expect(await back.weights.bytes(name)).toEqual(await lm.weights.bytes(name));

    const bare = await Mamba2Model.fromPretrained(tiny);
    const bareDir = tmp();
    await saveSafetensors(bare, bareDir);
    const names = [...(await openSafetensors([readFileSync(join(bareDir, "model.safetensors"))])).tensors.keys()];
    expect(names).toContain("embeddings.weight");
    expect(names.some((n) => n.startsWith("backbone.") || n === "lm_head.weight")).toBe(false);
    const bareBack = await Mamba2Model.fromPretrained(bareDir);
    expect((await bareBack.forward({ inputIds: idsA })).lastHiddenState.data).toEqual((await bare.forward({ inputIds: idsA })).lastHiddenState.data);
    await expect(Mamba2ForCausalLM.fromPretrained(bareDir).then((m) => m.core())).rejects.toThrow(/missing tensors: backbone\.embeddings\.weight/);

    const tied = new Mamba2ForCausalLM({ ...camelOf(lm.config), tieWordEmbeddings: true });
    expect(tied.checkpoint().tensors.map((t) => t.name)).not.toContain("lm_head.weight");
  });

  it("refuses a model with mamba_ssm's grouped gated norm", async () => {
    const m = await Mamba2ForCausalLM.fromPretrained(fixtureDir("ssmformat"));
    expect(() => m.checkpoint()).toThrow("this model normalizes its gated RMSNorm per group (mamba_ssm's, n_groups 4), which transformers' files cannot express: saving it would change its outputs");
  });
});

describe("PEFT LoRA adapters (tiny-lora: r 4, alpha 8 on embeddings and in_proj)", () => {
  const golden = lg.get("logits_a")!.values;
  const greedy = ints(lg.get("greedy_tokens_a")!);

  it("applied at run time: PEFT's logits and greedy tokens", async () => {
    const m = await Mamba2ForCausalLM.fromPretrained(tiny, { adapter: loraDir });
    expect(m.activeAdapters()).toEqual(["default"]);
    expect(relErr((await m.forward({ inputIds: idsA })).logits.data, golden)).toBeLessThan(TOL);
    expect(await m.generate(idsA, { maxNewTokens: 12, eosTokenId: null })).toEqual([[...idsA, ...greedy]]);
  });

  it("merged into the weights: the same logits", async () => {
    const merged = await Mamba2ForCausalLM.fromPretrained(tiny, { adapter: loraDir, mergeAdapter: true });
    expect(merged.activeAdapters()).toEqual([]);
    const logits = (await merged.forward({ inputIds: idsA })).logits.data;
    expect(relErr(logits, golden)).toBeLessThan(TOL);
    const applied = await Mamba2ForCausalLM.fromPretrained(tiny, { adapter: loraDir });
    expect(maxAbsDiff(logits, (await applied.forward({ inputIds: idsA })).logits.data)).toBeLessThan(1e-5);
    expect(await merged.generate(idsA, { maxNewTokens: 12, eosTokenId: null })).toEqual([[...idsA, ...greedy]]);
    const dir = tmp();
    await saveSafetensors(merged, dir); // a merged model saves as a plain one
    expect(relErr((await (await Mamba2ForCausalLM.fromPretrained(dir)).forward({ inputIds: idsA })).logits.data, golden)).toBeLessThan(TOL);
  });

  it("several adapters switched without reloading the base model", async () => {
    const m = await Mamba2ForCausalLM.fromPretrained(tiny);
    const base = (await m.forward({ inputIds: idsA })).logits.data;
    await m.loadAdapter(loraDir, { adapterName: "peft" });
    const adapted = (await m.forward({ inputIds: idsA })).logits.data;
    expect(relErr(adapted, golden)).toBeLessThan(TOL);
    await m.loadAdapter(await variant({ lora_alpha: 4 }), { adapterName: "half" });
    expect(m.activeAdapters()).toEqual(["peft"]); // loading does not switch
    await m.setAdapter("half");
    const half = (await m.forward({ inputIds: idsA })).logits.data;
    expect(maxAbsDiff(half, adapted)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(half, base)).toBeGreaterThan(0.1);
    const halfMerged = await Mamba2ForCausalLM.fromPretrained(tiny, { adapter: await variant({ lora_alpha: 4 }), mergeAdapter: true });
    expect(maxAbsDiff(half, (await halfMerged.forward({ inputIds: idsA })).logits.data)).toBeLessThan(1e-5);
    await m.disableAdapters();
    expect(m.activeAdapters()).toEqual([]);
    expect((await m.forward({ inputIds: idsA })).logits.data).toEqual(base);
    await m.enableAdapters();
    await m.setAdapter("peft");
    expect((await m.forward({ inputIds: idsA })).logits.data).toEqual(adapted);
    const [session] = await (await m.core()).createSession().complete(idsA, { maxNewTokens: 12, eosTokenId: null }).then((r) => r.tokens);
    expect(session).toEqual(greedy); // sessions of the core model run the active adapter too
    await m.deleteAdapter("peft");
    expect(m.activeAdapters()).toEqual([]);
    expect((await m.forward({ inputIds: idsA })).logits.data).toEqual(base);
    await expect(m.setAdapter("peft")).rejects.toThrow('no adapter named "peft" (loaded: half)');
    await expect(m.loadAdapter(loraDir, { adapterName: "half" })).rejects.toThrow('an adapter named "half" is already loaded');
  });

  it("scaling: lora_alpha / r, lora_alpha / √r with use_rslora, alpha_pattern and rank_pattern per module", async () => {
    const scalings = (a: LoraAdapter) => [...a.modules.values()].map((m) => [m.module, m.scaling]);
    expect(scalings(await variant({}))).toEqual([["backbone.embeddings", 2], ["backbone.layers.0.mixer.in_proj", 2], ["backbone.layers.1.mixer.in_proj", 2]]);
    expect(scalings(await variant({ use_rslora: true }))).toEqual([["backbone.embeddings", 4], ["backbone.layers.0.mixer.in_proj", 4], ["backbone.layers.1.mixer.in_proj", 4]]);
    expect(scalings(await variant({ alpha_pattern: { "layers.1.mixer.in_proj": 2 }, rank_pattern: { embeddings: 4 } }))).toEqual([["backbone.embeddings", 2], ["backbone.layers.0.mixer.in_proj", 2], ["backbone.layers.1.mixer.in_proj", 0.5]]);
    // rsLoRA with alpha 4 scales by 4/√4 = 2: the fixture's own scaling, so the fixture's logits
    const m = await Mamba2ForCausalLM.fromPretrained(tiny, { adapter: await variant({ use_rslora: true, lora_alpha: 4 }) });
    expect(relErr((await m.forward({ inputIds: idsA })).logits.data, golden)).toBeLessThan(TOL);
  });

  it("the bare model applies the adapter too", async () => {
    const bare = await Mamba2Model.fromPretrained(tiny, { adapter: loraDir });
    const lm = await Mamba2ForCausalLM.fromPretrained(tiny, { adapter: loraDir });
    const a = (await bare.forward({ inputIds: idsA })).lastHiddenState.data;
    expect(a).toEqual((await lm.forward({ inputIds: idsA, outputHiddenStates: true })).hiddenStates![2].data);
  });

  it("rejects DoRA, unsupported targets and mismatched adapters with one line", async () => {
    await expect(variant({ use_dora: true })).rejects.toThrow("adapter_config.json: use_dora is true: DoRA adapters are not supported");
    await expect(variant({ target_modules: ["in_proj", "conv1d"] })).rejects.toThrow('adapter_config.json: target_modules is ["in_proj","conv1d"]: LoRA on conv1d is not supported (targets: embeddings, in_proj, out_proj, lm_head)');
    await expect(variant({ peft_type: "IA3" })).rejects.toThrow('adapter_config.json: peft_type is "IA3": only "LORA" adapters are supported');
    await expect(variant({ bias: "all" })).rejects.toThrow('adapter_config.json: bias is "all": only "none" is supported');
    await expect(variant({ modules_to_save: ["lm_head"] })).rejects.toThrow('adapter_config.json: modules_to_save is ["lm_head"]: not supported');
    await expect(variant({ r: 8 })).rejects.toThrow("adapter_model.safetensors: backbone.embeddings: lora_A has rank 4 but adapter_config.json says r 8");
    const tensors = await openSafetensors([readFileSync(`${loraDir}adapter_model.safetensors`)]);
    const rewrite = async (rename: (n: string) => string) => {
      const { writeSafetensors } = await import("../src/index.js");
      const list = await Promise.all([...tensors.tensors].map(async ([n, e]) => ({ name: rename(n), dtype: e.dtype, shape: e.shape, bytes: await tensors.bytes(n) })));
      return writeSafetensors(list);
    };
    await expect(variant({}, await rewrite((n) => n.replace("layers.0.mixer.in_proj", "layers.0.mixer.conv1d")))).rejects.toThrow(
      "adapter_model.safetensors: tensor base_model.model.backbone.layers.0.mixer.conv1d.lora_A.weight: LoRA on backbone.layers.0.mixer.conv1d is not supported (targets: embeddings, in_proj, out_proj, lm_head)",
    );
    await expect(variant({}, await rewrite((n) => n.replace("layers.1.mixer.in_proj.lora_B", "layers.1.mixer.in_proj.lora_magnitude_vector")))).rejects.toThrow("DoRA adapters are not supported");
    const dir = tmp();
    writeFileSync(join(dir, "adapter_config.json"), readFileSync(`${loraDir}adapter_config.json`));
    writeFileSync(join(dir, "adapter_model.safetensors"), await rewrite((n) => n.replace("layers.1.mixer.in_proj.lora_B", "layers.1.mixer.in_proj.lora_Z")));
    await expect(Mamba2ForCausalLM.fromPretrained(tiny, { adapter: dir })).rejects.toThrow(/adapter_model\.safetensors: tensor base_model\.model\.backbone\.layers\.1\.mixer\.in_proj\.lora_Z\.weight: not a LoRA tensor/);
    await expect(Mamba2ForCausalLM.fromPretrained(fixtureDir("groups"), { adapter: loraDir })).rejects.toThrow(
      /adapter_model\.safetensors: backbone\.embeddings is adapted as \[in 300, out 64\] but the model's is \[in 512, out 96\] \(an adapter of another base model\?\)/,
    );
    await expect(Mamba2ForCausalLM.fromPretrained(tiny, { adapter: tiny })).rejects.toThrow(/not a PEFT adapter folder \(no adapter_config\.json\)/);
  });
});
