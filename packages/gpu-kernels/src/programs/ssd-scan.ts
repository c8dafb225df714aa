import type { SsmParams, SsmWeights } from "@mamba2/core";
import source from "../shaders/ssd-scan.wgsl";
import type { Binding } from "../runner.js";
import type { GpuTensor } from "../tensor.js";
import { compose, Params } from "../wgsl.js";
import { type Context, groupsOf, header } from "./context.js";

/**
 * The state space over T positions (see shaders/ssd-scan.wgsl). Up to one chunk of L = min(chunkSize, TILE)
 * positions (and the decode step, ssm-step.ts), the recurrence: a workgroup per (b, h, block of channels).
 * Longer, the chunked SSD form, parallel over chunks: four dispatches per slice —
 *   chunk_states  (b, chunk, h, n block, p block): dt, c → decay; the chunk's own final state → states
 *   chunk_cb      (b, chunk, g): C_i·B_j → cb
 *   pass_states   (b, h, n, p), over chunks in order: states ← each chunk's initial state; state ← the last
 *   chunk_outputs (b, chunk, h, p block): y
 * 256 invocations each; the tile passes stage 2 · KT · (TILE + 4) + 3 · TILE floats (9.25 KiB) in workgroup memory.
 * Scratch of a slice of R rows, K chunks and S positions: states R·K·H·N·P, decay R·H·S·2, cb R·K·G·L² floats.
 * A batch whose scratch exceeds one storage binding goes in slices of rows, or of chunks of one row (the state
 * carries the sequence from one slice to the next).
 */
export function ssdScan(
  ctx: Context, y: GpuTensor, xbc: GpuTensor, zxbcdt: GpuTensor, w: SsmWeights<GpuTensor>,
  state: GpuTensor, mask: GpuTensor | null, p: SsmParams,
): void {
  const [batch, steps, heads, headDim] = y.shape;
  const chunk = Math.min(p.chunkSize, TILE);
  if (steps <= chunk) {
    recurrence(ctx, y, xbc, zxbcdt, w, state, mask, p);
    return;
  }
  const n = p.stateSize;
  const chunks = Math.ceil(steps / chunk);
  const limits = ctx.runner.device.limits;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  // scratch per chunk of one row; slices of `rows` rows × `sliceChunks` chunks fit one binding
  const perChunk = 4 * Math.max(heads * n * headDim, 2 * heads * chunk, p.groups * chunk * chunk);
  const fit = Math.max(1, Math.floor(maxBinding / perChunk));
  const rows = Math.max(1, Math.min(batch, Math.floor(fit / chunks)));
  const sliceChunks = Math.min(chunks, fit);
  const all = {
    ...inputs(ctx, y, xbc, zxbcdt, w, state, mask),
    states: ctx.scratch("ssd-scan/states", rows * sliceChunks * heads * n * headDim * 4),
    decay: ctx.scratch("ssd-scan/decay", rows * heads * Math.min(steps, sliceChunks * chunk) * 8),
    cb: ctx.scratch("ssd-scan/cb", rows * sliceChunks * p.groups * chunk * chunk * 4),
  };
  const { key, source: code } = variant(ctx, n, headDim, steps);
  const pBlocks = Math.ceil(headDim / TILE);
  for (let b0 = 0; b0 < batch; b0 += rows) {
    for (let t0 = 0; t0 < steps; t0 += sliceChunks * chunk) {
      const r = Math.min(rows, batch - b0);
      const span = Math.min(sliceChunks * chunk, steps - t0);
      const k = Math.ceil(span / chunk);
      const params = uniforms(y, xbc, zxbcdt, mask, p, { b0, rows: r, t0, span, chunk });
      const run = (entry: string, workgroups: number, ...used: Slot[]) =>
        ctx.runner.dispatch({ key, entry, source: code, params, workgroups, bindings: pick(all, used) });
      run("chunk_states", r * k * heads * Math.ceil(n / TILE) * pBlocks, "xbc", "zxbcdt", "dtBias", "A", "mask", "states", "decay");
      run("chunk_cb", r * k * p.groups, "xbc", "cb");
      run("pass_states", groupsOf(r * heads * n * headDim), "state", "states", "decay");
      run("chunk_outputs", r * k * heads * pBlocks, "y", "xbc", "D", "mask", "states", "decay", "cb");
    }
  }
}

/** The recurrence over all T positions of all rows (the decode step, and scans of at most one chunk). */
export function recurrence(
  ctx: Context, y: GpuTensor, xbc: GpuTensor, zxbcdt: GpuTensor, w: SsmWeights<GpuTensor>,
  state: GpuTensor, mask: GpuTensor | null, p: SsmParams,
): void {
  const [batch, steps, heads, headDim] = y.shape;
  const { key, source: code, pb } = variant(ctx, p.stateSize, headDim, steps);
  ctx.runner.dispatch({
    key,
    entry: "recurrence",
    source: code,
    params: uniforms(y, xbc, zxbcdt, mask, p, { b0: 0, rows: batch, t0: 0, span: steps, chunk: 0 }),
    bindings: pick(inputs(ctx, y, xbc, zxbcdt, w, state, mask), ["y", "state", "xbc", "zxbcdt", "dtBias", "A", "D", "mask"]),
    workgroups: batch * heads * Math.ceil(headDim / pb),
  });
}

/** Rows and columns of the chunked passes' tiles (64: 16 × 16 invocations of 4 × 4), and the longest chunk. */
const TILE = 64;
/** The tiles' products go over K in steps of KT (a divisor of TILE). */
const KT = 16;

/** The shader's storage bindings 1, 2, … in order. */
const SLOTS = ["y", "state", "xbc", "zxbcdt", "dtBias", "A", "D", "mask", "states", "decay", "cb"] as const;
type Slot = (typeof SLOTS)[number];

function inputs(
  ctx: Context, y: GpuTensor, xbc: GpuTensor, zxbcdt: GpuTensor, w: SsmWeights<GpuTensor>, state: GpuTensor, mask: GpuTensor | null,
): Partial<Record<Slot, Binding>> {
  const { dtBias, A, D } = w;
  const t = { y, state, xbc, zxbcdt, dtBias, A, D, mask: mask ?? ctx.dummy };
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.parts[0]]));
}

/** An entry point's bindings: the buffers of the slots it uses, null elsewhere. */
function pick(all: Partial<Record<Slot, Binding>>, used: readonly Slot[]): (Binding | null)[] {
  return SLOTS.map((s) => (used.includes(s) ? (all[s] ?? null) : null));
}

/**
 * The module: the recurrence's invocations share a channel's N state entries NS ways, PB channels per
 * workgroup, and stage blocks of TB positions, the most that fits the device's workgroup memory (up to 32).
 * The decode step (T = 1) spreads each channel over up to 32 invocations (8 channels a workgroup for N = 128:
 * 4× the workgroups, each invocation's loads of a state row one 128-byte line across the channel's invocations);
 * on an H200 that took a 130m step's GPU time from 1.40 to 1.00 ms and from 1.35 to 1.12 (medians of 6
 * alternating rounds in each of two processes). Longer scans keep NS ≤ 8: more channels share each staged block.
 */
function variant(ctx: Context, n: number, headDim: number, steps: number) {
  const ns = steps === 1 ? Math.min(n, 32) : n >= 128 ? 8 : n >= 64 ? 4 : n >= 32 ? 2 : 1;
  const pb = Math.min(headDim, Math.floor(256 / ns));
  const perStep = 4 * (2 * n + pb + pb * ns + 1);
  const tb = steps === 1 ? 1 : Math.max(1, Math.min(32, Math.floor(ctx.workgroupBytes / perStep)));
  const consts = { N: n, NS: ns, NPT: Math.ceil(n / ns), PB: pb, TB: tb, TILE, KT };
  return { key: `ssd-scan/${n}/${ns}/${pb}/${tb}`, source: () => compose(header(consts), source), pb };
}

interface Slice {
  b0: number;
  rows: number;
  t0: number;
  span: number;
  chunk: number;
}

function uniforms(y: GpuTensor, xbc: GpuTensor, zxbcdt: GpuTensor, mask: GpuTensor | null, p: SsmParams, s: Slice): ArrayBuffer {
  const [, steps, heads, headDim] = y.shape;
  const convDim = xbc.shape[xbc.shape.length - 1];
  const zStride = zxbcdt.shape[zxbcdt.shape.length - 1];
  return new Params()
    .u32(s.rows, steps, heads, headDim, p.groups, convDim, zStride, zStride - heads, mask ? 1 : 0)
    .f32(p.dtMin, p.dtMax)
    .u32(s.b0, s.t0, s.span, s.chunk)
    .bytes();
}
