// The built `mamba2` command, end to end on the bundled model and the fixtures (reference backend).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGoldens, relErr } from "@mamba2/core/testing";
import { describe, expect, it } from "vitest";
import { mamba2, root, shakespeare, tiny } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "mamba2-cli-"));

/** Golden tensors as plain number arrays. */
function goldens(path: string): Record<string, number[]> {
  return Object.fromEntries([...readGoldens(readFileSync(path))].map(([name, g]) => [name, Array.from(g.values)]));
}

const sh = goldens(join(shakespeare, "golden.safetensors"));
const shInfo = JSON.parse(readFileSync(join(shakespeare, "golden.json"), "utf8"));
const tg = goldens(join(tiny, "golden.safetensors"));

describe("mamba2 generate", () => {
  it.each([
    [0, "auto"],
    [1, "auto"],
    [2, "auto"],
    [0, "reference"],
    [2, "wasm"],
    [1, "wasm --threads 2"],
  ])("greedy text %i of the bundled Shakespeare model, exactly (--backend %s)", (i, backend) => {
    const prompt: string = shInfo.prompts[i];
    const expected = sh[`greedy_ids.${i}`];
    const r = mamba2("generate", "--prompt", prompt, "--temperature", "0", "--max-new-tokens", String(expected.length), "--backend", ...String(backend).split(" "), "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tokens).toEqual(expected);
    expect(prompt + out.text).toBe(shInfo[`greedy_text.${i}`]);
    expect(out.backend).toBe(backend === "reference" ? "reference" : "wasm");
    expect(out.prefill_tokens_per_s).toBeGreaterThan(0);
    expect(out.decode_tokens_per_s).toBeGreaterThan(0);
  });

  it("streams the prompt and its continuation as text", () => {
    const r = mamba2("generate", "--prompt", "ROMEO:\n", "--temperature", "0", "--max-new-tokens", "64");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(shInfo["greedy_text.0"] + "\n");
  });

  it("takes ids, and ';'-separated ids as a left-padded batch, on a model without tokenizer", () => {
    const a = tg.input_ids_a;
    const b = tg.input_ids_b;
    const r = mamba2("generate", "--model", tiny, "--ids", a.join(","), "--temperature", "0", "--max-new-tokens", "12", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tokens: tg.greedy_tokens_a, text: null });
    const batch = JSON.parse(mamba2("generate", "--model", tiny, "--ids", `${a.join(",")};${b.join(",")}`, "--temperature", "0", "--max-new-tokens", "12", "--json").stdout);
    expect(batch.tokens).toEqual([tg.batch_greedy_tokens.slice(0, 12), tg.batch_greedy_tokens.slice(12)]);
    expect(batch.text).toEqual([null, null]);
  });

  it("stops a row at its EOS token (emitted) unless --ignore-eos", () => {
    // seed 2 at temperature 3 samples tiny's EOS (id 2) as the 36th new token
    const args = ["generate", "--model", tiny, "--ids", "5,6,7", "--temperature", "3", "--seed", "2", "--max-new-tokens", "40", "--json"];
    const free = JSON.parse(mamba2(...args, "--ignore-eos").stdout).tokens as number[];
    expect(free).toHaveLength(40);
    expect(free.indexOf(2)).toBe(35);
    expect(JSON.parse(mamba2(...args).stdout).tokens).toEqual(free.slice(0, 36));
  });

  it("samples reproducibly with a seed", () => {
    const args = ["generate", "--prompt", "JULIET:", "--temperature", "0.9", "--top-k", "40", "--top-p", "0.9", "--seed", "11", "--max-new-tokens", "20", "--json"];
    const a = JSON.parse(mamba2(...args).stdout);
    expect(a.tokens).toHaveLength(20);
    expect(JSON.parse(mamba2(...args).stdout).tokens).toEqual(a.tokens);
  });
});

describe("mamba2 forward", () => {
  it.each(["wasm", "webgpu"])("writes float32 logits [T, V] equal to the golden (%s)", (backend) => {
    const out = join(tmp, `logits-${backend}.bin`);
    const r = mamba2("forward", "--model", tiny, "--ids", tg.input_ids_a.join(","), "--out", out, "--backend", backend);
    expect(r.code).toBe(0);
    const buf = readFileSync(out);
    const logits = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    expect(logits.length).toBe(tg.input_ids_a.length * 300);
    expect(relErr(logits, tg.logits_a_f64)).toBeLessThan(1e-4);
  });
});

describe("mamba2 --adapter", () => {
  const lora = join(root, "fixtures/tiny-lora");
  const lg = goldens(join(lora, "golden.safetensors"));

  it("applies a PEFT LoRA adapter: PEFT's logits (forward) and greedy tokens (generate)", () => {
    const out = join(tmp, "lora-logits.bin");
    const r = mamba2("forward", "--model", tiny, "--adapter", lora, "--ids", tg.input_ids_a.join(","), "--out", out);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const buf = readFileSync(out);
    expect(relErr(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4), lg.logits_a)).toBeLessThan(1e-4);
    const g = mamba2("generate", "--model", tiny, "--adapter", lora, "--ids", tg.input_ids_a.join(","), "--temperature", "0", "--max-new-tokens", "12", "--ignore-eos", "--json", "--backend", "wasm");
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout).tokens).toEqual(lg.greedy_tokens_a);
  });

  it("names what is wrong with an adapter folder", () => {
    const r = mamba2("forward", "--model", tiny, "--adapter", tiny, "--ids", "1,2", "--out", join(tmp, "x.bin"));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`mamba2: error: ${tiny}: not a PEFT adapter folder (no adapter_config.json)\n`);
  });
});

describe("mamba2 perplexity", () => {
  it.each(["reference", "wasm"])("gives the validation perplexity of the bundled model (54.70 within 0.05%%) on %s", (backend) => {
    const text = readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8").slice(1003788);
    const file = join(tmp, "val.txt");
    writeFileSync(file, text);
    const r = mamba2("perplexity", "--model", shakespeare, "--file", file, "--window", "256", "--max-tokens", "2048", "--backend", backend);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ tokens: 2048, windows: 8 });
    expect(Math.abs(out.ppl / shInfo.val_ppl - 1)).toBeLessThan(5e-4);
    expect(out.mean_nll).toBeCloseTo(shInfo.val_mean_nll, 4);
  });

  it("on webgpu equals the reference backend's (512 tokens, within 1e-4)", () => {
    const file = join(tmp, "val-512.txt");
    writeFileSync(file, readFileSync(join(root, "data/tinyshakespeare.txt"), "utf8").slice(1003788, 1003788 + 4000));
    const run = (backend: string) => JSON.parse(mamba2("perplexity", "--model", shakespeare, "--file", file, "--window", "256", "--max-tokens", "512", "--backend", backend).stdout);
    const [gpu, ref] = [run("webgpu"), run("reference")];
    expect(gpu.tokens).toBe(512);
    expect(Math.abs(gpu.ppl / ref.ppl - 1)).toBeLessThan(1e-4);
  });
});

describe("mamba2 bench", () => {
  it("measures prefill and decode of a model folder, with the reference baseline", () => {
    const r = mamba2("bench", "--model", tiny, "--prompt-tokens", "16", "--gen-tokens", "4", "--batch", "2", "--baseline", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    // the command turns relaxed SIMD on (Node.js 20 has it behind a flag), so the fused build runs
    expect(out).toMatchObject({ backend: "wasm", wasm_build: "relaxed simd", batch: 2, prompt_tokens: 16, gen_tokens: 4, baseline: { backend: "reference" } });
    for (const k of ["prefill_tokens_per_s", "decode_tokens_per_s", "bandwidth_gb_per_s", "decode_limit_tokens_per_s"]) expect(out[k]).toBeGreaterThan(0);
    expect(typeof out.subnormal_map).toBe("boolean");
    expect(out.bandwidth_probe).toBe("wasm read, 1 thread(s)");
    expect(out.weight_bytes).toBe(4 * (2 * (64 + 296 * 64 + 160 * 4 + 160 + 3 * 8 + 128 + 64 * 128) + 64 + 300 * 64));
  });
});

describe("bad input: one line on stderr, exit code 2", () => {
  const badConfig = join(tmp, "bad-config");
  const truncated = join(tmp, "truncated");
  spawnSync("mkdir", ["-p", badConfig, truncated]);
  writeFileSync(join(badConfig, "config.json"), '{"model_type": "mamba2", "hidden_size": ');
  writeFileSync(join(truncated, "config.json"), readFileSync(join(tiny, "config.json")));
  writeFileSync(join(truncated, "model.safetensors"), readFileSync(join(tiny, "model.safetensors")).subarray(0, 5000));

  it.each([
    [["generate", "--model", join(tmp, "nope"), "--ids", "1"], /nope: not a model folder/],
    [["generate", "--model", badConfig, "--ids", "1"], /bad-config\/config.json: invalid JSON/],
    [["generate", "--model", truncated, "--ids", "1"], /truncated\/model.safetensors: tensor .*: data ends at byte \d+ but the file has \d+ data bytes/],
    [["generate", "--model", tiny, "--ids", "1,x"], /--ids: 'x' in row 0 is not a token id/],
    [["generate", "--model", tiny, "--ids", "1,300"], /token id 300 in row 0 is out of range \[0, 300\)/],
    [["generate", "--model", tiny, "--prompt", "hi"], /has no tokenizer.json: use --ids/],
    [["generate", "--ids", "1", "--bogus", "2"], /Unknown option '--bogus'/],
    [["generate", "--ids", "1", "--temperature", "hot"], /--temperature must be a number, found 'hot'/],
    [["generate", "--ids", "1", "--backend", "tpu"], /unknown backend 'tpu' \(available: auto, webgpu, wasm, reference\)/],
    [["generate", "--ids", "1", "--backend", "reference", "--threads", "2"], /--threads applies to the wasm backend, not reference/],
    [["bench", "--shape", "5b"], /--shape must be one of 130m, 370m, 780m, 1.3b, 2.7b, found '5b'/],
    [["bench", "--model", tiny, "--shape", "130m"], /bench takes --model or --shape, not both/],
    [["generate"], /generate needs exactly one of --prompt or --ids/],
    [["forward", "--model", tiny, "--ids", "1"], /forward needs --out FILE/],
    [["perplexity", "--file", join(tmp, "missing.txt")], /missing.txt: no such file/],
    [["launch"], /unknown command 'launch'/],
  ])("%j", (args, message) => {
    const r = mamba2(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
