import { type Activation, type Backend, DEFAULT_WEIGHT_DTYPES, type DType, fail, isQuantized, type Kernels, QUANT_DTYPES, type Tensor, tensorBytes, toFloat32 } from "@mamba2/core";
import { Heap, MAX_BYTES } from "./heap.js";
import { RELAXED_THREADS_WASM, RELAXED_WASM, SCALAR_WASM, SIMD_WASM, THREADS_WASM } from "./kernels.generated.js";
import { CONTROL_BYTES, createPool, type ParallelOp, type Pool, threadsUnavailable } from "./threads.js";

export { MAX_BYTES as WASM_MAX_BYTES } from "./heap.js";
export { threadsUnavailable as wasmThreadsUnavailable } from "./threads.js";

/** A tensor in the module's memory: `ptr` is a byte offset. 2-D weights keep their 16-bit or quantized dtype. */
export interface WasmTensor extends Tensor {
  readonly ptr: number;
  readonly bytes: number;
  /** An f16 matrix's map of blocks that hold subnormal halves (`half_map` in assembly/matmul.ts), if it has one. */
  readonly halfMap?: { readonly ptr: number; readonly bytes: number };
}

/** The exports of assembly/index.ts: pointers and sizes in, nothing allocated in wasm. */
interface Exports {
  heap_base(): number;
  add(out: number, a: number, b: number, n: number): void;
  argmax(out: number, x: number, rows: number, v: number): void;
  causal_conv1d(...args: number[]): void;
  embedding(out: number, table: number, ids: number, rows: number, d: number, dtype: number): void;
  gated_rms_norm(...args: number[]): void;
  matmul(out: number, x: number, w: number, bias: number, rows: number, outDim: number, inDim: number, dtype: number, map: number, scratch: number, part: number, parts: number): void;
  matmul_scratch_bytes(inDim: number): number;
  half_map(map: number, w: number, outDim: number, inDim: number): void;
  half_map_bytes(outDim: number, inDim: number): number;
  rms_norm(out: number, x: number, w: number, rows: number, d: number, eps: number): void;
  ssd_scan(...args: number[]): void;
  ssd_scratch_bytes(groups: number, chunk: number): number;
  ssm_step(...args: number[]): void;
  read_bandwidth(p: number, n: number, part: number, parts: number): number;
  multiply_chain(n: number, v: number): number;
}

export interface WasmBackendOptions {
  /** Use the SIMD build (default: when the engine validates it). false forces the scalar build. */
  simd?: boolean;
  /**
   * Use the relaxed-SIMD build, whose matmul multiplies and adds in one fused instruction (default: when
   * the engine validates it: Chrome and Edge 114+, Node.js 22+, Deno; Node.js 20 with
   * `--experimental-wasm-relaxed-simd`). Its sums are rounded once per step, so they may differ from the SIMD
   * build's in the last bits. false forces the plain SIMD build.
   */
  relaxedSimd?: boolean;
  /**
   * Threads for the big kernels (matmul, SSD scan, conv), over a shared memory (default 1): Node.js's
   * worker_threads, or Web Workers in Deno, Bun and cross-origin isolated browser pages (COOP same-origin + COEP
   * require-corp). On a page's main thread, which may not block, the caller spin-waits for the workers.
   */
  threads?: number;
  /**
   * Give f16 matrices a map of their blocks that hold subnormal halves, which the decode matmul then widens exactly
   * instead of multiplying them as subnormal floats (default: where this CPU multiplies subnormal floats at less
   * than half speed, timed once, when the first f16 matrix is loaded: Intel's assists; AMD Zen needs no map). The
   * results are the same either way; only the speed differs.
   */
  subnormalMap?: boolean;
}

export interface WasmBackend extends Backend<WasmTensor> {
  readonly simd: boolean;
  readonly relaxedSimd: boolean;
  readonly threads: number;
  /** Whether f16 matrices get subnormal maps (WasmBackendOptions.subnormalMap). */
  readonly subnormalMap: boolean;
  /** Stops the worker threads (a no-op with one thread). */
  dispose(): void;
  /** Bytes of the module's memory in use (weights, activations, cache). */
  readonly bytesInUse: number;
  /** Reads `bytes` of memory once on all its threads; returns seconds taken (the probe of `mamba2 bench`). */
  readBandwidth(bytes: number): number;
}

const DTYPE_CODE: Record<DType, number> = { f32: 0, f16: 1, bf16: 2, q8_0: 3, q4_0: 4, q4_k: 5, i32: 0 };
const ACT_CODE: Record<Activation, number> = { silu: 0, swish: 0, relu: 1, identity: 2 };

/**
 * Positions per SSD chunk on the CPU: the chunked form is the same function for any chunk length, and its
 * within-chunk part (Q²/2 exp() and axpy per head) outgrows its savings beyond ~16 positions with 128-bit SIMD
 * (measured on mamba2-130m's layer shape: T = 512 takes 55 ms in chunks of 16, 500 ms in chunks of 256).
 */
const SSD_BLOCK = 16;

/** Rows from which the gated norm is spread over the threads (prefill; a decode step has one row a sequence). */
const PARALLEL_ROWS = 16;

const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** The SIMD kernels widen f16 without special cases: a matrix with an infinity or NaN is refused. */
function checkFiniteHalves(bytes: Uint8Array, shape: readonly number[]): void {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 1);
  const bad = halves.findIndex((h) => (h & 0x7c00) === 0x7c00);
  if (bad >= 0) fail(`f16 weight [${shape.join(", ")}] holds an infinity or NaN at element ${bad}`);
}

/** Whether multiplying subnormal floats takes this CPU over twice as long as normal ones (best of 3 runs of 2^18 steps: 0.25 ms each on an AMD EPYC). */
function subnormalsSlow(wasm: Exports): boolean {
  const time = (v: number) => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      wasm.multiply_chain(1 << 18, v);
      best = Math.min(best, performance.now() - t);
    }
    return best;
  };
  time(1); // compiled and warm
  return time(1e-40) > 2 * time(1);
}

/** The WebAssembly backend: every kernel in AssemblyScript, SIMD where the engine has it. */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const simdBytes = decode(SIMD_WASM);
  const simdOk = WebAssembly.validate(simdBytes);
  const simd = options.simd ?? simdOk;
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) fail(`WASM threads must be a positive integer, found ${threads}`);
  if (simd && !simdOk) fail("WASM backend: this engine does not support WebAssembly SIMD (use simd: false)");
  if (threads > 1 && !simd) fail("WASM threads need the SIMD build");
  const relaxedBytes = decode(threads > 1 ? RELAXED_THREADS_WASM : RELAXED_WASM);
  const relaxedOk = simd && WebAssembly.validate(relaxedBytes);
  const relaxedSimd = simd && (options.relaxedSimd ?? relaxedOk);
  if (relaxedSimd && !relaxedOk) fail("WASM backend: this engine does not support relaxed SIMD (use relaxedSimd: false)");
  const unavailable = threads > 1 ? threadsUnavailable() : null;
  if (unavailable) fail(unavailable);
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: threads > 1 });
  const module = await WebAssembly.compile(relaxedSimd ? relaxedBytes : threads > 1 ? decode(THREADS_WASM) : simd ? simdBytes : decode(SCALAR_WASM));
  const wasm = (await WebAssembly.instantiate(module, { env: { memory } })).exports as unknown as Exports;
  const heap = new Heap(memory, wasm.heap_base());
  const pool: Pool | null = threads > 1 ? await createPool(module, memory, heap.alloc(CONTROL_BYTES), threads, wasm as unknown as Record<ParallelOp, (...a: number[]) => void>) : null;
  // timed when first needed: the first f16 matrix (or a read of backend.subnormalMap)
  let subnormalMap = simd ? options.subnormalMap : false;
  const mapsHalves = () => (subnormalMap ??= subnormalsSlow(wasm));
  const parallel = (op: ParallelOp, args: number[]) => (pool ? pool.run(op, args) : (wasm[op] as (...a: number[]) => void)(...args, 0, 1));
  let scratch = { ptr: 0, bytes: 0 };

  const alloc = (shape: readonly number[], dtype: DType): WasmTensor => {
    const bytes = tensorBytes(shape, dtype);
    return { shape: [...shape], dtype, ptr: heap.alloc(bytes), bytes };
  };
  const numel = (t: WasmTensor) => t.shape.reduce((a, b) => a * b, 1);
  const last = (t: WasmTensor) => t.shape[t.shape.length - 1];
  const ptr = (t: WasmTensor | null) => (t ? t.ptr : 0);
  const scratchOf = (bytes: number) => {
    if (scratch.bytes < bytes) {
      if (scratch.bytes) heap.release(scratch.ptr, scratch.bytes);
      scratch = { ptr: heap.alloc(bytes), bytes };
    }
    return scratch.ptr;
  };

  const ssm = (which: "ssd_scan" | "ssm_step"): Kernels<WasmTensor>["ssdScan"] => (y, xbc, zxbcdt, w, state, mask, p) => {
    const [batch, steps, heads, headDim] = y.shape;
    const args = [y.ptr, xbc.ptr, zxbcdt.ptr, w.dtBias.ptr, w.A.ptr, w.D.ptr, state.ptr, ptr(mask), batch, steps, heads, headDim, p.groups, p.stateSize, last(xbc), last(zxbcdt), p.dtMin, p.dtMax];
    if (which === "ssm_step") parallel("ssm_step", args);
    else {
      const block = Math.min(p.chunkSize, SSD_BLOCK);
      parallel("ssd_scan", [...args, block, scratchOf(threads * wasm.ssd_scratch_bytes(p.groups, block))]);
    }
  };

  const kernels: Kernels<WasmTensor> = {
    embedding: (out, table, ids) => wasm.embedding(out.ptr, table.ptr, ids.ptr, numel(ids), table.shape[1], DTYPE_CODE[table.dtype]),
    rmsNorm: (out, x, w, eps) => wasm.rms_norm(out.ptr, x.ptr, w.ptr, numel(x) / w.shape[0], w.shape[0], eps),
    matmul: (out, x, w, bias) => {
      const args = [out.ptr, x.ptr, w.ptr, ptr(bias), numel(x) / w.shape[1], w.shape[0], w.shape[1], DTYPE_CODE[w.dtype], w.halfMap?.ptr ?? 0];
      parallel("matmul", [...args, scratchOf(threads * wasm.matmul_scratch_bytes(w.shape[1]))]);
    },
    add: (out, a, b) => wasm.add(out.ptr, a.ptr, b.ptr, numel(out)),
    causalConv1d: (out, x, offset, w, bias, state, mask, act) => {
      const [batch, steps, channels] = out.shape;
      parallel("causal_conv1d", [out.ptr, x.ptr, offset, last(x), w.ptr, DTYPE_CODE[w.dtype], ptr(bias), state.ptr, ptr(mask), batch, steps, channels, w.shape[1], ACT_CODE[act]]);
    },
    ssdScan: ssm("ssd_scan"),
    ssmStep: ssm("ssm_step"),
    gatedRmsNorm: (out, y, z, w, eps, groupSize) => {
      const rows = numel(y) / w.shape[0];
      const args = [out.ptr, y.ptr, z.ptr, w.ptr, rows, w.shape[0], last(z), eps, groupSize];
      // a decode step's few rows on this thread: a wake-up of the workers costs more than they would save
      if (rows < PARALLEL_ROWS) wasm.gated_rms_norm(...args, 0, 1);
      else parallel("gated_rms_norm", args);
    },
    argmax: (out, x) => wasm.argmax(out.ptr, x.ptr, numel(out), last(x)),
  };

  return {
    name: "wasm",
    simd,
    relaxedSimd,
    threads,
    get subnormalMap() {
      return mapsHalves();
    },
    dispose: () => pool?.terminate(),
    maxBytes: MAX_BYTES,
    weightDTypes: [...DEFAULT_WEIGHT_DTYPES, ...QUANT_DTYPES],
    kernels,
    get bytesInUse() {
      return heap.bytesInUse;
    },
    weight(shape, dtype, bytes) {
      // Matrices keep 16-bit or quantized storage (widened in registers); vectors are widened once here.
      const keep = dtype === "f32" || shape.length === 2 || isQuantized(dtype);
      if (keep && dtype === "f16") checkFiniteHalves(bytes, shape);
      const data = keep ? bytes : new Uint8Array(toFloat32(bytes, dtype).buffer);
      const t = alloc(shape, keep ? dtype : "f32");
      if (data.byteLength !== t.bytes) fail(`weight of shape [${shape.join(", ")}] and dtype ${dtype}: got ${bytes.byteLength} bytes`);
      heap.bytes(t.ptr, t.bytes).set(data);
      const mapBytes = t.dtype === "f16" && shape.length === 2 && mapsHalves() ? wasm.half_map_bytes(shape[0], shape[1]) : 0;
      if (!mapBytes) return t;
      const halfMap = { ptr: heap.alloc(mapBytes), bytes: mapBytes };
      wasm.half_map(halfMap.ptr, t.ptr, shape[0], shape[1]);
      return { ...t, halfMap };
    },
    zeros(shape, dtype) {
      const t = alloc(shape, dtype);
      heap.bytes(t.ptr, t.bytes).fill(0);
      return t;
    },
    write(t, data) {
      if (data.byteLength !== t.bytes) fail(`write: ${data.byteLength} bytes into a tensor of ${t.bytes}`);
      heap.bytes(t.ptr, t.bytes).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
    readF32: async (t) => new Float32Array(heap.bytes(t.ptr, t.bytes).slice().buffer),
    readI32: async (t) => new Int32Array(heap.bytes(t.ptr, t.bytes).slice().buffer),
    copy(dst, src) {
      new Uint8Array(memory.buffer).copyWithin(dst.ptr, src.ptr, src.ptr + src.bytes);
    },
    free(t) {
      heap.release(t.ptr, t.bytes);
      if (t.halfMap) heap.release(t.halfMap.ptr, t.halfMap.bytes);
    },
    readBandwidth(bytes) {
      const n = Math.floor(bytes / 4);
      const p = heap.alloc(n * 4);
      heap.bytes(p, n * 4).fill(1); // touch every page: untouched pages all map to one zero page
      const t0 = performance.now();
      parallel("read_bandwidth", [p, n]);
      const seconds = (performance.now() - t0) / 1000;
      heap.release(p, n * 4);
      return seconds;
    },
  };
}
