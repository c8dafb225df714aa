/**
 * The WebGPU backend: every kernel of core's interface as a WGSL compute shader. Kernels are recorded into one
 * command encoder and submitted when the host reads a result, so a decode step is one submit that reads back
 * only token ids (or the logits when sampling on the host).
 */
import { type Backend, DEFAULT_WEIGHT_DTYPES, fail, isQuantized, type Kernels, QUANT_DTYPES, tensorBytes, toFloat32, type WeightDType } from "@mamba2/core";
import { readBandwidth } from "./bandwidth.js";
import { acquireDevice, type DeviceOptions, type GpuFeatures } from "./device.js";
import { add } from "./programs/add.js";
import { argmax } from "./programs/argmax.js";
import { causalConv1d } from "./programs/causal-conv1d.js";
import { copy } from "./programs/copy.js";
import type { Context } from "./programs/context.js";
import { embedding } from "./programs/embedding.js";
import { gatedRmsNorm } from "./programs/gated-rms-norm.js";
import { gatedNormMatmulAdd, matmul, rmsNormMatmul, rmsNormMatmulConv } from "./programs/matmul.js";
import { rmsNorm } from "./programs/rms-norm.js";
import { sample } from "./programs/sample.js";
import { ssdScan } from "./programs/ssd-scan.js";
import { ssmStep } from "./programs/ssm-step.js";
import { Runner } from "./runner.js";
import type { GpuPart, GpuTensor } from "./tensor.js";

export { probeWebGpu, type DeviceOptions, type GpuFeatures, type WebGpuProbe } from "./device.js";
export type { GpuPart, GpuTensor } from "./tensor.js";

export interface WebGpuBackendOptions extends DeviceOptions {
  /**
   * Bytes per buffer of a weight matrix (default, and at most: the device's maxStorageBufferBindingSize).
   * Larger matrices are split by rows across buffers; activations must fit one binding.
   */
  weightPartBytes?: number;
}

export interface WebGpuBackend extends Backend<GpuTensor> {
  readonly device: GPUDevice;
  readonly features: GpuFeatures;
  /** The adapter, in words (vendor, architecture, device). */
  readonly adapter: string;
  /** Submits so far (a decode step is one). */
  readonly submits: number;
  /** Bytes per second a kernel reads from the device's memory (see bandwidth.ts). */
  memoryBandwidth(): Promise<number>;
  /** Waits for the queued work (for benchmarks). */
  sync(): Promise<void>;
  /** Starts timing every dispatch on the GPU (needs `timestamp-query`; dispatches then go one per pass). */
  startProfile(): void;
  /** Stops, returning GPU milliseconds and dispatch counts per program (`name/variant:entry`). */
  stopProfile(): Promise<Map<string, { count: number; ms: number }>>;
  /** Destroys the device's buffers and pipelines cache (the device too, unless it was given). */
  dispose(): void;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const gpu = await acquireDevice(options);
  const { device } = gpu;
  const runner = new Runner(gpu);
  const limits = device.limits;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const partBytes = Math.min(options.weightPartBytes ?? Infinity, maxBinding);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

  const buffer = (bytes: number, what: string): GPUBuffer => {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    device.pushErrorScope("out-of-memory");
    const b = device.createBuffer({ size, usage });
    void device.popErrorScope().then((e) => {
      if (e) runner.error ??= `WebGPU out of memory allocating ${mib(size)} for ${what}`;
    });
    return b;
  };

  /** A tensor in one buffer, or a matrix split by rows into parts of at most maxBinding bytes. */
  const alloc = (shape: readonly number[], dtype: GpuTensor["dtype"], splittable: boolean): GpuTensor => {
    const bytes = tensorBytes(shape, dtype);
    const what = `a ${dtype} tensor [${shape.join(", ")}]`;
    // a part binds its whole buffer (the bytes padded to a 4-byte multiple)
    const part = (row0: number, rows: number, n: number): GpuPart => {
      const b = buffer(n, what);
      return { buffer: b, row0, rows, size: b.size };
    };
    if (bytes <= (splittable ? partBytes : maxBinding)) return { shape: [...shape], dtype, bytes, parts: [part(0, shape[0] ?? 1, bytes)] };
    const rowBytes = bytes / shape[0];
    if (!splittable || rowBytes > maxBinding) {
      fail(`${what} takes ${mib(bytes)}, more than one storage binding of this device (${mib(maxBinding)}); use shorter prefill chunks or a smaller batch`);
    }
    const perPart = Math.max(1, Math.floor(partBytes / rowBytes));
    const parts: GpuPart[] = [];
    for (let row0 = 0; row0 < shape[0]; row0 += perPart) {
      const rows = Math.min(perPart, shape[0] - row0);
      parts.push(part(row0, rows, rows * rowBytes));
    }
    return { shape: [...shape], dtype, bytes, parts };
  };

  const writeParts = (t: GpuTensor, data: Uint8Array) => {
    const rowBytes = t.bytes / (t.shape[0] ?? 1);
    for (const part of t.parts) {
      const chunk = data.subarray(part.row0 * rowBytes, (part.row0 + part.rows) * rowBytes);
      const padded = chunk.byteLength % 4 === 0 ? chunk : Uint8Array.from({ length: Math.ceil(chunk.byteLength / 4) * 4 }, (_, i) => chunk[i] ?? 0);
      runner.write(part.buffer, part.offset ?? 0, padded);
    }
  };

  const scratch = new Map<string, GpuPart>();
  const ctx: Context = {
    runner,
    features: gpu.features,
    dummy: alloc([1], "f32", false),
    workgroupBytes: limits.maxComputeWorkgroupStorageSize,
    bindingBytes: maxBinding,
    scratch(name, bytes) {
      const held = scratch.get(name);
      if (held && held.size >= bytes) return held;
      if (held) runner.release(held.buffer);
      const part = alloc([Math.ceil(bytes / 4)], "f32", false).parts[0];
      scratch.set(name, part);
      return part;
    },
  };

  const kernels: Kernels<GpuTensor> = {
    embedding: (out, table, ids) => embedding(ctx, out, table, ids),
    rmsNorm: (out, x, w, eps) => rmsNorm(ctx, out, x, w, eps),
    matmul: (out, x, w, bias) => matmul(ctx, out, x, w, bias),
    add: (out, a, b) => add(ctx, out, a, b),
    causalConv1d: (out, x, offset, w, bias, state, mask, act) => causalConv1d(ctx, out, x, offset, w, bias, state, mask, act),
    ssdScan: (y, xbc, zxbcdt, w, state, mask, p) => ssdScan(ctx, y, xbc, zxbcdt, w, state, mask, p),
    ssmStep: (y, xbc, zxbcdt, w, state, mask, p) => ssmStep(ctx, y, xbc, zxbcdt, w, state, mask, p),
    gatedRmsNorm: (out, y, z, w, eps, groupSize) => gatedRmsNorm(ctx, out, y, z, w, eps, groupSize),
    argmax: (out, x) => argmax(ctx, out, x),
    sample: (out, x, u, o) => sample(ctx, out, x, u, o),
    rmsNormMatmul: (out, x, nw, eps, w, bias) => rmsNormMatmul(ctx, out, x, nw, eps, w, bias),
    rmsNormMatmulConv: (out, xbc, x, nw, eps, w, bias, conv) => rmsNormMatmulConv(ctx, out, xbc, x, nw, eps, w, bias, conv),
    gatedNormMatmulAdd: (out, y, z, nw, eps, group, w, bias) => gatedNormMatmulAdd(ctx, out, y, z, nw, eps, group, w, bias),
  };

  const read = async (t: GpuTensor): Promise<ArrayBuffer> => {
    if (t.parts.length !== 1) fail(`reading a tensor split across ${t.parts.length} buffers is not supported`);
    return runner.read(t.parts[0].buffer, t.parts[0].offset ?? 0, t.bytes);
  };

  return {
    name: "webgpu",
    queued: true,
    kernels,
    weightDTypes: [...DEFAULT_WEIGHT_DTYPES, ...QUANT_DTYPES],
    device,
    features: gpu.features,
    adapter: gpu.description,
    get submits() {
      return runner.submits;
    },
    weight(shape, dtype: WeightDType, bytes) {
      // Matrices keep 16-bit or quantized storage (widened in registers); vectors are widened once here.
      const keep = dtype === "f32" || shape.length === 2 || isQuantized(dtype);
      const data = keep ? bytes : new Uint8Array(toFloat32(bytes, dtype).buffer);
      const t = alloc(shape, keep ? dtype : "f32", shape.length === 2);
      if (data.byteLength !== t.bytes) fail(`weight of shape [${shape.join(", ")}] and dtype ${dtype}: got ${bytes.byteLength} bytes`);
      writeParts(t, data);
      return t;
    },
    zeros: (shape, dtype) => alloc(shape, dtype, false),
    stack(shape, count) {
      // items start at multiples of minStorageBufferOffsetAlignment, so that each binds on its own
      const bytes = tensorBytes(shape, "f32");
      const stride = Math.ceil(bytes / limits.minStorageBufferOffsetAlignment) * limits.minStorageBufferOffsetAlignment;
      if (count * stride > limits.maxBufferSize) return null;
      // never bound as a whole (only copied), so not held to the binding limit
      const b = buffer(count * stride, `${count} stacked f32 tensors [${shape.join(", ")}]`);
      const whole: GpuTensor = { shape: [count, stride / 4], dtype: "f32", bytes: count * stride, parts: [{ buffer: b, row0: 0, rows: count, size: b.size }] };
      const items = Array.from({ length: count }, (_, i): GpuTensor => ({
        shape: [...shape], dtype: "f32", bytes, parts: [{ buffer: b, offset: i * stride, size: bytes, row0: 0, rows: shape[0] ?? 1 }],
      }));
      return { whole, items };
    },
    write(t, data) {
      if (data.byteLength !== t.bytes) fail(`write: ${data.byteLength} bytes into a tensor of ${t.bytes}`);
      writeParts(t, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
    readF32: async (t) => new Float32Array(await read(t)),
    readI32: async (t) => new Int32Array(await read(t)),
    replay: (key, record) => runner.replay(key, record),
    copy: (dst, src) => copy(ctx, dst, src),
    free(t) {
      for (const p of t.parts) runner.release(p.buffer);
    },
    memoryBandwidth: () => readBandwidth(runner, buffer),
    startProfile: () => runner.startProfile(),
    stopProfile: () => runner.stopProfile(),
    async sync() {
      runner.flush();
      await device.queue.onSubmittedWorkDone();
    },
    dispose() {
      for (const p of scratch.values()) p.buffer.destroy();
      runner.dispose();
      if (!options.device) device.destroy();
    },
  };
}
