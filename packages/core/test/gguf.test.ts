// GGUF files written by llama.cpp (fixtures/gguf: the Shakespeare model in F32, Q8_0 and Q4_0): the reader, the
// mapping to transformers' tensors, our quantizers against llama-quantize's bytes, and the writer.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildModel, bytesSource, createReferenceBackend, fromFloat32, generateAll, loadOpened, modelToGguf, openGgufModel, quantize, readGguf, toFloat32, writeGguf, type GgufEntry, type TensorStore } from "../src/index.js";
import { weightDType } from "../src/dtype.js";
import { fileSource, loadModelFromDir, openModelPath } from "../src/node.js";
import { fixtureDir, goldensOf, ints, relErr } from "./helpers.js";

const gguf = (type: string) => `${fixtureDir("gguf")}shakespeare-${type}.gguf`;
const shakespeare = fixtureDir("../models/mamba2-shakespeare");
const golden = goldensOf(shakespeare);
const llamaCpp = JSON.parse(readFileSync(`${fixtureDir("gguf")}llama-cpp-greedy.json`, "utf8")) as { llama_cpp_greedy_text: Record<string, string> };

describe("GGUF of arch mamba2", () => {
  it("reads the header: metadata, tensor types and shapes", async () => {
    const g = await readGguf(await fileSource(gguf("q4_0")));
    expect(g.version).toBe(3);
    expect(g.metadata.get("general.architecture")).toBe("mamba2");
    expect(g.metadata.get("mamba2.block_count")).toBe(6);
    expect(g.tensors.get("token_embd.weight")).toMatchObject({ shape: [2048, 256], type: "Q4_0" });
    expect(g.tensors.get("blk.0.ssm_in.weight")).toMatchObject({ shape: [1168, 256], type: "Q4_0" });
    expect(g.tensors.get("blk.0.ssm_conv1d.weight")).toMatchObject({ shape: [640, 4], type: "F32" });
  });

  it("maps the config and every tensor of the F32 file to the transformers model's values", async () => {
    const fromGguf = await openModelPath(gguf("f32"));
    const fromHf = await openModelPath(shakespeare);
    expect(fromGguf.format).toBe("gguf");
    expect(fromGguf.groupedGatedNorm).toBe(true);
    for (const k of ["hidden_size", "num_hidden_layers", "vocab_size", "state_size", "num_heads", "head_dim", "n_groups", "conv_kernel", "tie_word_embeddings", "use_conv_bias", "eos_token_id"] as const) {
      expect(fromGguf.config[k], k).toEqual(fromHf.config[k]);
    }
    expect(fromGguf.config.layer_norm_epsilon).toBeCloseTo(1e-5, 12);
    expect([...fromGguf.store.tensors.keys()].sort()).toEqual([...fromHf.store.tensors.keys()].sort());
    for (const [name, entry] of fromHf.store.tensors) {
      expect(fromGguf.store.tensors.get(name)!.shape, name).toEqual(entry.shape);
      const a = toFloat32(await fromGguf.store.bytes(name), "f32");
      const b = toFloat32(await fromHf.store.bytes(name), "f32");
      // A_log is recomputed as log(−A) from the stored A = −exp(A_log): a few ulps
      expect(relErr(a, b), name).toBeLessThan(name.endsWith("A_log") ? 1e-6 : 1e-12);
    }
  });

  it("F32: greedy decoding reproduces the golden continuation exactly", async () => {
    const model = await loadModelFromDir(gguf("f32"));
    const [tokens] = await generateAll(model, ints(golden.get("prompt_ids.0")!), { maxNewTokens: 64, eosTokenId: null });
    expect(tokens).toEqual(ints(golden.get("greedy_ids.0")!));
  });

  it("Q8_0: greedy decoding gives llama.cpp's q8_0 continuation (= the f32 golden's ids)", async () => {
    expect(llamaCpp.llama_cpp_greedy_text.q8_0).toBe(llamaCpp.llama_cpp_greedy_text.f32);
    const model = await loadModelFromDir(gguf("q8_0"));
    expect(model.weights.layers[0].inProj.dtype).toBe("q8_0");
    const [tokens] = await generateAll(model, ints(golden.get("prompt_ids.0")!), { maxNewTokens: 64, eosTokenId: null });
    expect(tokens).toEqual(ints(golden.get("greedy_ids.0")!));
  });

  it("a backend that declares no quantized dtypes is refused quantized weights, naming the tensor", async () => {
    const legacy = { ...createReferenceBackend(), weightDTypes: undefined };
    await expect(loadOpened(await openModelPath(gguf("q8_0")), { backend: legacy })).rejects.toThrow(
      `${gguf("q8_0")}: tensor backbone.layers.0.mixer.in_proj.weight is q8_0, which the reference backend does not read (it reads f32, f16, bf16)`,
    );
  });

  it.each(["q8_0", "q4_0"] as const)("our %s quantizer gives llama-quantize's bytes for every matrix", async (type) => {
    const f32 = await readGguf(await fileSource(gguf("f32")));
    const q = await readGguf(await fileSource(gguf(type)));
    let matrices = 0;
    for (const t of q.tensors.values()) {
      const src = f32.tensors.get(t.name)!;
      const values = toFloat32(await f32.source.read(src.begin, src.end - src.begin), "f32");
      const bytes = await q.source.read(t.begin, t.end - t.begin);
      if (t.type === "F32") continue;
      matrices++;
      expect(t.type).toBe(type.toUpperCase());
      expect(Buffer.from(quantize(values, type)).equals(Buffer.from(bytes)), t.name).toBe(true);
    }
    expect(matrices).toBe(13); // token_embd + 6 × (ssm_in, ssm_out)
  });

  it.each(["q4_k", "f16"] as const)("%s matrices: a GGUF of them gives the model of their dequantized values", async (type) => {
    // q4_k through modelToGguf (our quantizer); f16 by rewriting the F32 file's matrices with writeGguf
    const f32 = await openModelPath(gguf("f32"));
    let bytes: Uint8Array;
    if (type === "q4_k") bytes = Buffer.concat(await modelToGguf(f32, "q4_k"));
    else {
      const g = await readGguf(await fileSource(gguf("f32")));
      const tensors = await Promise.all([...g.tensors.values()].map(async (t) => {
        const data = await g.source.read(t.begin, t.end - t.begin);
        const matrix = /^(token_embd|blk\.\d+\.ssm_in|blk\.\d+\.ssm_out)\.weight$/.test(t.name);
        return { name: t.name, shape: t.shape, type: matrix ? "F16" : "F32", data: matrix ? fromFloat32(toFloat32(data, "f32"), "f16") : data };
      }));
      const meta = new Map<string, GgufEntry>([...g.metadata].filter(([, v]) => typeof v === "number").map(([k, v]) => [k, { type: "u32", value: v as number }]));
      meta.set("general.architecture", { type: "string", value: "mamba2" });
      meta.set("mamba2.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 });
      bytes = Buffer.concat(writeGguf(meta, tensors));
    }
    const opened = await openGgufModel(bytesSource(bytes, `m-${type}.gguf`));
    expect(opened.store.tensors.get("backbone.layers.0.mixer.in_proj.weight")!.dtype).toBe(type.toUpperCase());
    const model = await loadOpened(opened);
    expect(model.weights.layers[0].outProj.dtype).toBe(type === "f16" ? "f32" : "q4_k"); // the reference widens f16
    // the same values, dequantized into an f32 store
    const dequantized: TensorStore = {
      ...opened.store,
      tensors: new Map([...opened.store.tensors].map(([n, e]) => [n, { ...e, dtype: "F32" }])),
      bytes: async (n) => new Uint8Array(toFloat32(await opened.store.bytes(n), weightDType(opened.store.tensors.get(n)!.dtype, n)).buffer),
    };
    const plain = await buildModel(opened.config, dequantized, { groupedGatedNorm: true });
    const ids = [ints(golden.get("prompt_ids.1")!)];
    const [a, b] = await Promise.all([model.forward(ids), plain.forward(ids)]);
    expect(relErr(a.logits!, b.logits!)).toBeLessThan(1e-5);
  });

  it("writes GGUF that reads back: metadata of each type, tensors with their types, shapes and bytes", async () => {
    const meta = new Map<string, GgufEntry>([
      ["general.architecture", { type: "string", value: "mamba2" }],
      ["a.u32", { type: "u32", value: 7 }],
      ["a.f32", { type: "f32", value: 0.5 }],
      ["a.bool", { type: "bool", value: true }],
      ["a.strings", { type: "array", of: "string", value: ["x", "ÿ"] }],
      ["a.ints", { type: "array", of: "i32", value: [-1, 3] }],
    ]);
    const q = quantize(Float32Array.from({ length: 64 }, (_, i) => i / 7 - 4), "q8_0");
    const f = new Uint8Array(Float32Array.from([1, 2, 3]).buffer);
    const chunks = writeGguf(meta, [{ name: "m", shape: [2, 32], type: "Q8_0", data: q }, { name: "v", shape: [3], type: "F32", data: f }]);
    const g = await readGguf(bytesSource(Buffer.concat(chunks)));
    expect(Object.fromEntries(g.metadata)).toEqual({ "general.architecture": "mamba2", "a.u32": 7, "a.f32": 0.5, "a.bool": true, "a.strings": ["x", "ÿ"], "a.ints": [-1, 3] });
    const read = async (n: string) => {
      const t = g.tensors.get(n)!;
      return [t.shape, t.type, Array.from(await g.source.read(t.begin, t.end - t.begin))];
    };
    expect(await read("m")).toEqual([[2, 32], "Q8_0", Array.from(q)]);
    expect(await read("v")).toEqual([[3], "F32", Array.from(f)]);
  });

  it("bad files: one line naming the file and the problem", async () => {
    const file = readFileSync(gguf("q4_0"));
    const open = (bytes: Uint8Array, name = "m.gguf") => readGguf(bytesSource(bytes, name));
    await expect(open(Buffer.from("GGUX....................."))).rejects.toThrow('m.gguf: not a GGUF file (no "GGUF" magic)');
    await expect(open(file.subarray(0, 5000))).rejects.toThrow("m.gguf: truncated GGUF header (5000 bytes)");
    await expect(open(file.subarray(0, 1_000_000))).rejects.toThrow(/m\.gguf: tensor blk\.\d+\.\S+: data ends at byte \d+ but the file has 1000000 bytes \(truncated\?\)/);
    const v9 = Buffer.from(file);
    v9.writeUInt32LE(9, 4);
    await expect(open(v9)).rejects.toThrow("m.gguf: GGUF version 9 is not supported (2 or 3)");
    v9.writeUInt32BE(3, 4);
    await expect(open(v9)).rejects.toThrow("m.gguf: a big-endian GGUF (version field 50331648), which is not supported: convert it to little-endian");
    const other = writeGguf(new Map([["general.architecture", { type: "string", value: "llama" }]]), []);
    await expect(openGgufModel(bytesSource(Buffer.concat(other), "l.gguf"))).rejects.toThrow('l.gguf: general.architecture is "llama", expected "mamba2"');
  });
});
