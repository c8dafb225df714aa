// The WebGPU scan beyond the conformance suite: which form runs (the recurrence up to one chunk, the chunked
// passes beyond it), and scans whose chunk states exceed one storage binding, done in slices of rows or of
// chunks; each against the reference.
import { type Backend, createReferenceBackend, Rng, type SsmParams, type Tensor } from "@mamba2/core";
import { KERNEL_TOLERANCE, nmse, relErr } from "@mamba2/core/testing";
import { describe, expect, it } from "vitest";
import { createWebGpuBackend, type WebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

interface Shape { B: number; T: number; H: number; P: number; G: number; N: number; chunk: number; masked: boolean }

/** ssdScan on seeded inputs (dt_raw in [-2, 2], A in [-e, -1/e], every 7th position masked); returns y and the state. */
function scan<T extends Tensor>(be: Backend<T>, s: Shape): T[] {
  const r = new Rng(11);
  const input = (shape: number[], scale = 1) => {
    const t = be.zeros(shape, "f32");
    be.write(t, Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => (r.next() * 2 - 1) * scale));
    return t;
  };
  const vector = (f: (v: number) => number) =>
    be.weight([s.H], "f32", new Uint8Array(Float32Array.from({ length: s.H }, () => f(r.next() * 2 - 1)).buffer));
  const convDim = s.H * s.P + 2 * s.G * s.N;
  const y = be.zeros([s.B, s.T, s.H, s.P], "f32");
  const state = input([s.B, s.H, s.P, s.N]);
  const mask = s.masked ? be.zeros([s.B, s.T], "i32") : null;
  if (mask) be.write(mask, Int32Array.from({ length: s.B * s.T }, (_, i) => (i % 7 === 3 ? 0 : 1)));
  const w = { dtBias: vector((v) => v), A: vector((v) => -Math.exp(v)), D: vector((v) => v) };
  const p: SsmParams = { groups: s.G, stateSize: s.N, chunkSize: s.chunk, dtMin: 0.01, dtMax: 2 };
  const xbc = input([s.B, s.T, convDim]);
  const zxbcdt = input([s.B * s.T, s.H * s.P + convDim + s.H], 2);
  be.kernels.ssdScan(y, xbc, zxbcdt, w, state, mask, p);
  return [y, state];
}

/** Expects the GPU's y and state to be the reference's; returns its dispatch counts per entry point of the scan. */
async function expectReference(be: WebGpuBackend, s: Shape): Promise<Record<string, number>> {
  const reference = createReferenceBackend();
  const want = await Promise.all(scan(reference, s).map((t) => reference.readF32(t)));
  be.startProfile();
  const got = scan(be, s);
  const profile = await be.stopProfile();
  for (let i = 0; i < want.length; i++) {
    const actual = await be.readF32(got[i]);
    expect(relErr(actual, want[i]), `output ${i}: max |Δ| / scale`).toBeLessThan(KERNEL_TOLERANCE.rel);
    expect(nmse(actual, want[i]), `output ${i}: NMSE`).toBeLessThan(KERNEL_TOLERANCE.nmse);
    be.free(got[i]);
  }
  const counts: Record<string, number> = {};
  for (const [key, { count }] of profile) {
    const [program, entry] = key.split(":");
    if (program.startsWith("ssd-scan/")) counts[entry] = (counts[entry] ?? 0) + count;
  }
  return counts;
}

describe("webgpu ssdScan", () => {
  it("runs the recurrence up to one chunk (of at most 64 positions), the four chunked passes beyond it", async () => {
    const be = await createWebGpuBackend({ gpu: await nodeGpu() });
    const shape = { B: 2, H: 3, P: 70, G: 1, N: 70, masked: true }; // P, N: a whole tile and part of one
    expect(await expectReference(be, { ...shape, T: 64, chunk: 256 })).toEqual({ recurrence: 1 });
    const chunked = { chunk_states: 1, chunk_cb: 1, pass_states: 1, chunk_outputs: 1 };
    expect(await expectReference(be, { ...shape, T: 65, chunk: 256 })).toEqual(chunked);
    expect(await expectReference(be, { ...shape, T: 9, chunk: 8 })).toEqual(chunked);
    be.dispose();
  });

  describe("on a device with the default limits (16 KiB of workgroup memory) that reports bindings of 256 KiB", () => {
    // the real binding limit (128 MiB at least) takes minutes of SwiftShader to fill: a smaller one is shown
    const device = async () => {
      const adapter = await (await nodeGpu()).requestAdapter();
      const real = await adapter!.requestDevice({ requiredFeatures: ["timestamp-query"] });
      expect(real.limits.maxComputeWorkgroupStorageSize).toBe(16384);
      const limits = { maxStorageBufferBindingSize: 2 ** 18, maxBufferSize: real.limits.maxBufferSize, maxComputeWorkgroupStorageSize: 16384 };
      const shown = new Proxy(real, {
        get(t, k) {
          if (k === "limits") return new Proxy(t.limits, { get: (l, name) => (limits as Record<string | symbol, number>)[name] ?? Reflect.get(l, name, l) });
          const v: unknown = Reflect.get(t, k, t);
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
      return { real, be: await createWebGpuBackend({ device: shown }) };
    };
    // H·N·P = 4096 floats: the chunk states of 16 chunks fill one binding
    const shape = { H: 2, P: 16, G: 1, N: 128, chunk: 4 };

    it("splits a batch whose chunk states exceed one binding into slices of rows", async () => {
      const { real, be } = await device();
      const counts = await expectReference(be, { ...shape, B: 3, T: 28, masked: true });
      expect(counts.chunk_outputs, "7 chunks per row: rows 0-1, then row 2").toBe(2);
      be.dispose();
      real.destroy();
    });

    it("splits a row whose chunk states exceed one binding into slices of chunks", async () => {
      const { real, be } = await device();
      const counts = await expectReference(be, { ...shape, B: 2, T: 83, masked: true });
      expect(counts.chunk_outputs, "21 chunks per row: chunks 0-15, then 16-20, of each row").toBe(4);
      be.dispose();
      real.destroy();
    });
  });
});
