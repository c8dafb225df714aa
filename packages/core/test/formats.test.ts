// Format detection: transformers, mamba_ssm and Mistral folders, GGUF files; the gated norm's grouping per
// format and its override; one-line errors for folders that are not (supported) models.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig, syntheticWeights, toFloat32, type TensorStore } from "../src/index.js";
import { loadModelFromDir, openModelPath } from "../src/node.js";
import { fixtureDir, goldensOf, ints, relErr, safetensorsBytes } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "mamba2-formats-"));
const folder = (name: string, files: Record<string, string | Uint8Array>) => {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content);
  return dir;
};

/** Every tensor of a store as F32 safetensors bytes, renamed by `rename`. */
async function asSafetensors(store: TensorStore, rename: (n: string) => string = (n) => n): Promise<Uint8Array> {
  const tensors: Record<string, { shape: readonly number[]; values: Float32Array }> = {};
  for (const [name, e] of store.tensors) tensors[rename(name)] = { shape: e.shape, values: toFloat32(await store.bytes(name), "f32") };
  return safetensorsBytes(tensors);
}

describe("model formats", () => {
  it("mamba_ssm (ssmformat): detected, config converted, grouped gated norm by default, overridable", async () => {
    const dir = fixtureDir("ssmformat");
    const opened = await openModelPath(dir);
    expect(opened.format).toBe("mamba_ssm");
    expect(opened.groupedGatedNorm).toBe(true);
    expect(opened.config).toMatchObject({ hidden_size: 64, num_hidden_layers: 2, vocab_size: 400, state_size: 16, head_dim: 16, num_heads: 8, n_groups: 4, chunk_size: 8, tie_word_embeddings: true });
    const g = goldensOf(dir);
    const prompt = ints(g.get("input_ids_a")!);
    const grouped = await (await loadModelFromDir(dir)).forward([prompt]);
    const whole = await (await loadModelFromDir(dir, { groupedGatedNorm: false })).forward([prompt]);
    expect(relErr(grouped.logits!, g.get("logits_a_f64")!.values)).toBeLessThan(1e-4);
    expect(relErr(whole.logits!, g.get("logits_a_f64")!.values)).toBeGreaterThan(1e-2); // HF's norm: other numbers
  });

  it("transformers folders keep HF's whole-width norm", async () => {
    const opened = await openModelPath(fixtureDir("groups"));
    expect([opened.format, opened.groupedGatedNorm]).toEqual(["transformers", false]);
  });

  it("Mistral params.json + consolidated.safetensors (mamba_ssm keys, untied head) = the same weights as transformers'", async () => {
    // mamba_ssm's module defaults: d_state 128, headdim 64, d_conv 4, expand 2 → 2 heads of 64 for dim 64
    const hf = { hidden_size: 64, num_hidden_layers: 2, vocab_size: 96, state_size: 128, head_dim: 64, num_heads: 2, n_groups: 2, expand: 2, tie_word_embeddings: false };
    const store = syntheticWeights(parseConfig(hf), "f32", 3);
    const weights = await asSafetensors(store, (n) => (n === "backbone.embeddings.weight" ? "backbone.embedding.weight" : n));
    const params = { dim: 64, n_layers: 2, vocab_size: 90, n_groups: 2, rms_norm: true, residual_in_fp32: true, fused_add_norm: true, pad_vocab_size_multiple: 16, tie_embeddings: false, model_type: "mamba" };
    const mistral = folder("mistral", { "params.json": JSON.stringify(params), "consolidated.safetensors": weights });
    const transformers = folder("hf", { "config.json": JSON.stringify(hf), "model.safetensors": await asSafetensors(store) });
    const opened = await openModelPath(mistral);
    expect([opened.format, opened.groupedGatedNorm, opened.config.vocab_size]).toEqual(["mistral", true, 96]); // 90 padded to 16
    const ids = [[1, 5, 9, 33, 95, 2, 7]];
    const a = await (await loadModelFromDir(mistral)).forward(ids);
    const b = await (await loadModelFromDir(transformers, { groupedGatedNorm: true })).forward(ids);
    expect(Array.from(a.logits!)).toEqual(Array.from(b.logits!));
  });

  it("a folder with one .gguf file loads it; bad folders and configs are one-line errors", async () => {
    const gguf = folder("gguf", {});
    copyFileSync(join(fixtureDir("gguf"), "shakespeare-q4_0.gguf"), join(gguf, "m.gguf"));
    expect((await openModelPath(gguf)).format).toBe("gguf");
    copyFileSync(join(fixtureDir("gguf"), "shakespeare-q4_0.gguf"), join(gguf, "n.gguf"));
    await expect(openModelPath(gguf)).rejects.toThrow(/gguf: holds 2 \.gguf files \((m|n)\.gguf, (m|n)\.gguf\): name the one to load$/);
    const empty = folder("empty", { "README.md": "" });
    await expect(openModelPath(empty)).rejects.toThrow(`${empty}: not a model folder (no config.json, params.json or .gguf file)`);
    await expect(openModelPath(join(tmp, "nowhere"))).rejects.toThrow(`${join(tmp, "nowhere")}: not a model folder (no such file or folder)`);
    const ssm = { d_model: 64, n_layer: 2, vocab_size: 10 };
    const pickle = folder("pickle", { "config.json": JSON.stringify(ssm), "pytorch_model.bin": "" });
    await expect(openModelPath(pickle)).rejects.toThrow(`${pickle}: pytorch_model.bin is a pickle, which is not read here: convert it to model.safetensors (same tensor names)`);
    const mamba1 = folder("mamba1", { "config.json": JSON.stringify({ ...ssm, ssm_cfg: { layer: "Mamba1" } }) });
    await expect(openModelPath(mamba1)).rejects.toThrow(`${mamba1}/config.json: ssm_cfg.layer must be "Mamba2", found "Mamba1" (only pure Mamba2 stacks are supported)`);
    const mlp = folder("mlp", { "config.json": JSON.stringify({ ...ssm, d_intermediate: 128 }) });
    await expect(openModelPath(mlp)).rejects.toThrow(`${mlp}/config.json: d_intermediate (MLP layers) must be 0, found 128 (only pure Mamba2 stacks are supported)`);
    const transformer = folder("transformer", { "params.json": JSON.stringify({ dim: 64, model_type: "transformer" }) });
    await expect(openModelPath(transformer)).rejects.toThrow(`${transformer}/params.json: model_type is "transformer", expected "mamba"`);
  });
});
