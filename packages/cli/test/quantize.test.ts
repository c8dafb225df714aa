// GGUF and quantized models through the command: llama.cpp's files with their own tokenizer, `mamba2 quantize`
// (the matrices byte for byte what llama-quantize --pure writes), and the accuracy gates of the quantized types.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGguf } from "@mamba2/core";
import { fileSource } from "@mamba2/core/node";
import { beforeAll, describe, expect, it } from "vitest";
import { mamba2, root } from "./helpers.js";

const gguf = (type: string) => join(root, `fixtures/gguf/shakespeare-${type}.gguf`);
const llamaCpp = JSON.parse(readFileSync(join(root, "fixtures/gguf/llama-cpp-greedy.json"), "utf8")) as { prompt: string; llama_cpp_greedy_text: Record<string, string> };
const tmp = mkdtempSync(join(tmpdir(), "mamba2-quantize-"));
// the validation text: the last 10% of the corpus (from character 1003788), as in the README
const validation = join(tmp, "validation.txt");
writeFileSync(validation, readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8").slice(1003788));

/** Perplexity over the first 2 windows of 256 tokens of the validation text. */
function ppl(model: string, backend: string): number {
  const r = mamba2("perplexity", "--model", model, "--file", validation, "--window", "256", "--max-tokens", "512", "--backend", backend);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout).ppl as number;
}

describe("GGUF files and quantized models", () => {
  it.each(["f32", "q8_0", "q4_0"])("llama.cpp's %s file: greedy text equal to llama.cpp's, with the tokenizer from the GGUF", (type) => {
    const r = mamba2("generate", "--model", gguf(type), "--prompt", llamaCpp.prompt, "--temperature", "0", "--max-new-tokens", "64", "--json");
    expect(r.stderr).toBe("");
    expect(llamaCpp.prompt + JSON.parse(r.stdout).text).toBe(llamaCpp.llama_cpp_greedy_text[type]);
  });

  let f32: number;
  beforeAll(() => {
    f32 = ppl(join(root, "models/mamba2-shakespeare"), "wasm");
  });
  it.each([["q8_0", 0.01], ["q4_0", 0.1]] as const)("quantize --to %s: llama-quantize's tensors; perplexity within %s of f32's, WASM and WebGPU = reference", async (type, gate) => {
    const out = join(tmp, type);
    const r = mamba2("quantize", "--to", type, "--out", out);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(new RegExp(`^wrote ${out}/model.gguf: ${type}, \\d+\\.\\d\\d MiB\\n$`));
    const ours = await readGguf(await fileSource(join(out, "model.gguf")));
    const theirs = await readGguf(await fileSource(gguf(type)));
    expect([...ours.tensors.keys()].sort()).toEqual([...theirs.tensors.keys()].sort());
    for (const t of theirs.tensors.values()) {
      const o = ours.tensors.get(t.name)!;
      expect([o.type, o.shape], t.name).toEqual([t.type, t.shape]);
      const [a, b] = await Promise.all([ours.source.read(o.begin, o.end - o.begin), theirs.source.read(t.begin, t.end - t.begin)]);
      if (t.type !== "F32") expect(Buffer.from(a).equals(Buffer.from(b)), t.name).toBe(true);
      else {
        // f32 tensors: the same values, A = −exp(A_log) within 2 ulps (torch's float32 exp; ours rounds the exact value)
        const [x, y] = [a, b].map((v) => new Float32Array(v.slice().buffer));
        x.forEach((v, i) => expect(Math.abs(v - y[i]), `${t.name}[${i}]`).toBeLessThanOrEqual(2 ** -22 * Math.abs(y[i])));
      }
    }
    const wasm = ppl(out, "wasm");
    const reference = ppl(out, "reference");
    expect(Math.abs(wasm / f32 - 1)).toBeLessThan(gate);
    expect(Math.abs(wasm / reference - 1)).toBeLessThan(1e-3);
    expect(Math.abs(ppl(out, "webgpu") / reference - 1), "webgpu").toBeLessThan(1e-3);
  });

  it("llama.cpp's q4_k file (llama-quantize --pure Q4_K_M, made here): perplexity within 10 % of f32's, WASM and WebGPU = reference", () => {
    const wasm = ppl(gguf("q4_k"), "wasm");
    expect(Math.abs(wasm / f32 - 1)).toBeLessThan(0.1);
    const reference = ppl(gguf("q4_k"), "reference");
    expect(Math.abs(wasm / reference - 1)).toBeLessThan(1e-3);
    expect(Math.abs(ppl(gguf("q4_k"), "webgpu") / reference - 1), "webgpu").toBeLessThan(1e-3);
  });

  it("bad quantize flags: one line, exit code 2", () => {
    expect(mamba2("quantize", "--to", "q5_0", "--out", tmp)).toMatchObject({ code: 2, stderr: "mamba2: error: quantize needs --to q8_0|q4_0|q4_k, found 'q5_0'\n" });
    expect(mamba2("quantize", "--to", "q8_0")).toMatchObject({ code: 2, stderr: "mamba2: error: quantize needs --out DIR\n" });
    expect(mamba2("quantize", "--model", join(root, "fixtures/groups"), "--to", "q8_0", "--out", tmp).stderr).toMatch(/^mamba2: error: .*groups\/model\.safetensors: time_step_limit \[0, 0\.3\] cannot be stored in GGUF \(llama\.cpp has no dt limit\)\n$/);
  });
});
