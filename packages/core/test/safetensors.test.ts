import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bytesSource, checkTensors, loadModel, openSafetensors, parseConfig, SafetensorsFile } from "../src/index.js";
import { fixtureDir } from "./helpers.js";

/** A safetensors file from a header object and a data length. */
function file(header: object, dataBytes: number, headerLenOverride?: number): Uint8Array<ArrayBuffer> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? json.length), true);
  out.set(json, 8);
  return out;
}
const open = (bytes: Uint8Array) => SafetensorsFile.open(bytesSource(bytes, "m.safetensors"));

describe("safetensors reader", () => {
  it("reads F32, F16 and BF16 tensors from an ArrayBuffer, a Blob and a Response", async () => {
    const bytes = file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F16", shape: [2], data_offsets: [8, 12] }, c: { dtype: "BF16", shape: [1], data_offsets: [12, 14] } }, 14);
    const hdr = bytes.length - 14;
    new DataView(bytes.buffer).setFloat32(hdr, 1.5, true);
    new DataView(bytes.buffer).setFloat32(hdr + 4, -2, true);
    new DataView(bytes.buffer).setUint16(hdr + 8, 0x3c00, true); // 1.0
    new DataView(bytes.buffer).setUint16(hdr + 10, 0xc000, true); // -2.0
    new DataView(bytes.buffer).setUint16(hdr + 12, 0x4049, true); // bf16 3.140625
    for (const input of [bytes.buffer, new Blob([bytes]), new Response(bytes)]) {
      const store = await openSafetensors([input as ArrayBuffer]);
      expect(store.tensors.get("a")).toMatchObject({ dtype: "F32", shape: [2] });
      const { toFloat32 } = await import("../src/dtype.js");
      expect(Array.from(toFloat32(await store.bytes("a"), "f32"))).toEqual([1.5, -2]);
      expect(Array.from(toFloat32(await store.bytes("b"), "f16"))).toEqual([1, -2]);
      expect(Array.from(toFloat32(await store.bytes("c"), "bf16"))).toEqual([3.140625]);
    }
  });

  it.each([
    ["shorter than 8 bytes", new Uint8Array(4), /m.safetensors: not a safetensors file \(4 bytes/],
    ["a huge header length", file({}, 0, 2 ** 40), /header length 1099511627776 exceeds the limit/],
    ["a header past the end", file({}, 0, 500), /truncated: header of 500 bytes but the file has/],
    ["a header that is not JSON", (() => { const b = file({}, 0); b[8] = 0x41; return b; })(), /header is not valid JSON/],
    ["a header that is an array", (() => { const b = file([1] as unknown as object, 0); return b; })(), /header is not a JSON object/],
    ["an unknown dtype", file({ a: { dtype: "F33", shape: [1], data_offsets: [0, 4] } }, 4), /tensor a: unknown dtype "F33"/],
    ["a bad shape", file({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4), /tensor a: shape must be a list of non-negative integers/],
    ["offsets past the end (truncated file)", file({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8), /tensor a: data ends at byte 16 but the file has 8 data bytes/],
    ["a length that does not match the shape", file({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8), /tensor a: 8 bytes of data, expected 12 for F32 \[3\]/],
    ["reversed offsets", file({ a: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, 8), /data_offsets must be \[begin, end\]/],
    ["overlapping tensors", file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, 12), /tensors a and b overlap/],
  ])("rejects %s", async (_, bytes, message) => {
    await expect(open(bytes)).rejects.toThrow(message);
  });
});

describe("tensors against the config", () => {
  const dir = fixtureDir("tiny");
  const config = parseConfig(readFileSync(`${dir}config.json`, "utf8"));
  const weights = readFileSync(`${dir}model.safetensors`);

  it("loads from bytes with the web entry", async () => {
    const model = await loadModel({ config: readFileSync(`${dir}config.json`, "utf8"), weights: new Blob([weights]) });
    expect(model.dims.vocab).toBe(300);
  });

  it("names missing, unexpected and misshapen tensors, and unsupported dtypes", async () => {
    const store = await openSafetensors([weights]);
    const without = (name: string) => ({ ...store, tensors: new Map([...store.tensors].filter(([n]) => n !== name)) });
    expect(() => checkTensors(config, without("backbone.layers.1.mixer.D"))).toThrow(/missing tensors: backbone.layers.1.mixer.D$/);
    expect(() => checkTensors(config, without("lm_head.weight"))).toThrow(/missing tensors: lm_head.weight/);
    const extra = { ...store, tensors: new Map([...store.tensors, ["backbone.layers.2.norm.weight", store.tensors.get("backbone.norm_f.weight")!]]) };
    expect(() => checkTensors(config, extra)).toThrow(/unexpected tensors: backbone.layers.2.norm.weight/);
    expect(() => checkTensors(parseConfig({ ...JSON.parse(JSON.stringify(config)), time_step_limit: [0, 1e9], state_size: 8 }), store)).toThrow(
      /tensor backbone.layers.0.mixer.in_proj.weight has shape \[296, 64\], expected \[280, 64\] from config.json/,
    );
    const e = store.tensors.get("backbone.norm_f.weight")!;
    const i32 = { ...store, tensors: new Map([...store.tensors, ["backbone.norm_f.weight", { ...e, dtype: "I32" }]]) };
    expect(() => checkTensors(config, i32)).toThrow(/tensor backbone.norm_f.weight: unsupported dtype I32 \(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K\)/);
  });
});
