// Properties of the reference kernels that the goldens do not pin down on their own.
import { describe, expect, it } from "vitest";
import { createReferenceBackend, RefTensor, type SsmParams } from "../src/index.js";
import { maxAbsDiff } from "./helpers.js";

const be = createReferenceBackend();
const k = be.kernels;

function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
const tensor = (shape: number[], fill: () => number) => new RefTensor(shape, "f32", Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, fill));

/** Random SSM inputs for B sequences of T positions. */
function ssmCase(seed: number, B: number, T: number, H: number, P: number, G: number, N: number) {
  const r = random(seed);
  const convDim = H * P + 2 * G * N;
  const zw = H * P + convDim + H;
  return {
    xbc: tensor([B, T, convDim], r),
    zxbcdt: tensor([B * T, zw], () => 2 * r()),
    w: { dtBias: tensor([H], r), A: tensor([H], () => -Math.exp(r())), D: tensor([H], r) },
    state: tensor([B, H, P, N], r),
    y: () => tensor([B, T, H, P], () => 0),
  };
}

describe("ssdScan (chunked) equals ssmStep (recurrence)", () => {
  it.each([
    // B, T, H, P, G, N, chunk
    [1, 17, 4, 3, 1, 5, 4],
    [2, 23, 6, 4, 3, 7, 8],
    [1, 9, 2, 5, 2, 3, 16],
    [3, 31, 8, 2, 4, 6, 5],
  ])("B=%i T=%i H=%i P=%i G=%i N=%i chunk=%i, with a mask and clamped dt", (B, T, H, P, G, N, chunk) => {
    const c = ssmCase(B * 1000 + T, B, T, H, P, G, N);
    const p: SsmParams = { groups: G, stateSize: N, chunkSize: chunk, dtMin: 0.05, dtMax: 0.9 };
    const mask = new RefTensor([B, T], "i32", Int32Array.from({ length: B * T }, (_, i) => (i % 7 === 3 ? 0 : 1)));
    const s1 = new RefTensor(c.state.shape, "f32", c.state.data.slice());
    const s2 = new RefTensor(c.state.shape, "f32", c.state.data.slice());
    const y1 = c.y();
    const y2 = c.y();
    k.ssdScan(y1, c.xbc, c.zxbcdt, c.w, s1, mask, p);
    k.ssmStep(y2, c.xbc, c.zxbcdt, c.w, s2, mask, p);
    expect(maxAbsDiff(y1.data, y2.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(s1.data, s2.data)).toBeLessThan(1e-5);
  });

  it("a masked position is absent: same state as without it", () => {
    const [T, H, P, G, N] = [6, 2, 3, 1, 4];
    const c = ssmCase(7, 1, T, H, P, G, N);
    const p: SsmParams = { groups: G, stateSize: N, chunkSize: 4, dtMin: 0, dtMax: Infinity };
    const mask = new RefTensor([1, T], "i32", Int32Array.from([1, 1, 0, 1, 0, 1]));
    const keep = [0, 1, 3, 5];
    const pick = (t: RefTensor, width: number) => new RefTensor([1, keep.length, width], "f32", Float32Array.from(keep.flatMap((i) => Array.from(t.data.subarray(i * width, (i + 1) * width)))));
    const convDim = c.xbc.shape[2];
    const zw = c.zxbcdt.shape[1];
    const s1 = new RefTensor(c.state.shape, "f32", c.state.data.slice());
    const s2 = new RefTensor(c.state.shape, "f32", c.state.data.slice());
    k.ssdScan(c.y(), c.xbc, c.zxbcdt, c.w, s1, mask, p);
    k.ssdScan(tensor([1, keep.length, H, P], () => 0), pick(c.xbc, convDim), pick(c.zxbcdt, zw), c.w, s2, null, p);
    expect(maxAbsDiff(s1.data, s2.data)).toBeLessThan(1e-6);
  });
});

describe("causalConv1d", () => {
  it("continues from its state exactly like one long call, and skips masked inputs", () => {
    const r = random(3);
    const [B, T, C, K, S, off] = [2, 9, 5, 4, 13, 3];
    const x = tensor([B, T, S], r);
    const w = tensor([C, K], r);
    const bias = tensor([C], r);
    const full = tensor([B, T, C], () => 0);
    const state = tensor([B, C, K], () => 0);
    k.causalConv1d(full, x, off, w, bias, state, null, "silu");
    // the same sequence in two calls (5 + 4 positions)
    const split = (t0: number, t1: number) => new RefTensor([B, t1 - t0, S], "f32", Float32Array.from({ length: B * (t1 - t0) * S }, (_, i) => {
      const b = Math.floor(i / ((t1 - t0) * S));
      return x.data[(b * T + t0) * S + (i % ((t1 - t0) * S))];
    }));
    const st = tensor([B, C, K], () => 0);
    const o1 = tensor([B, 5, C], () => 0);
    const o2 = tensor([B, 4, C], () => 0);
    k.causalConv1d(o1, split(0, 5), off, w, bias, st, null, "silu");
    k.causalConv1d(o2, split(5, 9), off, w, bias, st, null, "silu");
    expect(maxAbsDiff(st.data, state.data)).toBe(0);
    for (let b = 0; b < B; b++) {
      expect(maxAbsDiff(o2.data.subarray(b * 4 * C, (b + 1) * 4 * C), full.data.subarray((b * T + 5) * C, (b + 1) * T * C))).toBe(0);
    }
    // left padding: 3 masked positions in front change nothing for the real ones
    const padded = new RefTensor([1, T + 3, S], "f32", Float32Array.from([...new Array(3 * S).fill(9), ...x.data.subarray(0, T * S)]));
    const mask = new RefTensor([1, T + 3], "i32", Int32Array.from({ length: T + 3 }, (_, i) => (i < 3 ? 0 : 1)));
    const out = tensor([1, T + 3, C], () => 0);
    const st2 = tensor([1, C, K], () => 0);
    k.causalConv1d(out, padded, off, w, bias, st2, mask, "silu");
    expect(maxAbsDiff(out.data.subarray(3 * C), full.data.subarray(0, T * C))).toBe(0);
    expect(maxAbsDiff(st2.data, state.data.subarray(0, C * K))).toBe(0);
  });
});

describe("gatedRmsNorm", () => {
  it("normalizes each group on its own, and the whole width when the group is E", () => {
    const y = new RefTensor([1, 4], "f32", Float32Array.from([1, 2, 3, 4]));
    const z = new RefTensor([1, 6], "f32", Float32Array.from([50, 50, 50, 50, 0, 0])); // silu(50) = 50
    const w = new RefTensor([4], "f32", Float32Array.from([1, 1, 1, 1]));
    const out = new RefTensor([1, 4], "f32", new Float32Array(4));
    k.gatedRmsNorm(out, y, z, w, 0, 2);
    const g = [50, 100, 150, 200];
    const r1 = Math.sqrt((g[0] ** 2 + g[1] ** 2) / 2);
    const r2 = Math.sqrt((g[2] ** 2 + g[3] ** 2) / 2);
    expect(Array.from(out.data)).toEqual([g[0] / r1, g[1] / r1, g[2] / r2, g[3] / r2].map(Math.fround));
    k.gatedRmsNorm(out, y, z, w, 0, 4);
    const r = Math.sqrt(g.reduce((a, v) => a + v * v, 0) / 4);
    expect(maxAbsDiff(out.data, g.map((v) => v / r))).toBeLessThan(1e-6);
  });
});
