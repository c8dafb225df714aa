/**
 * Records kernels into one command encoder and submits it only when the host needs a result (a read) or writes
 * a buffer that queued work still reads: a decode step is one submit. Pipelines are cached by key; uniforms are
 * small immutable buffers cached by content (shapes repeat across layers and steps); bind groups are cached by
 * (pipeline, uniforms, bound ranges), so a steady decode step creates no GPU objects at all. A recorded sequence
 * can be kept under a key and replayed (`replay`): a decode step then costs the host only the encoder's calls.
 */
import { fail } from "@mamba2/core";
import type { AcquiredDevice } from "./device.js";

/** A storage binding: a buffer range. */
export interface Binding {
  readonly buffer: GPUBuffer;
  readonly offset?: number;
  readonly size: number;
}

/** One compute dispatch: `key` names the pipeline (`source` is only called the first time). */
export interface Dispatch {
  readonly key: string;
  readonly source: () => string;
  readonly entry?: string;
  /** The `Params` struct, 4-byte fields in declaration order. */
  readonly params: ArrayBuffer;
  /** Storage bindings 1, 2, …; null where this entry point does not use that binding. */
  readonly bindings: readonly (Binding | null)[];
  readonly workgroups: number;
}

export const WORKGROUP = 256;

/** A command as the encoder takes it: a dispatch with its objects resolved, or a buffer copy. */
type Command =
  | { readonly label: string; readonly pipeline: GPUComputePipeline; readonly group: GPUBindGroup; readonly x: number; readonly y: number }
  | { readonly src: GPUBuffer; readonly srcOffset: number; readonly dst: GPUBuffer; readonly dstOffset: number; readonly size: number };

export class Runner {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private readonly staging: GPUBuffer[] = [];
  /** Command sequences kept by `replay`, and the one being recorded. */
  private readonly traces = new Map<string, Command[]>();
  private trace: Command[] | null = null;
  private nextId = 1;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** What the open pass has set, so that repeated pipelines and bind groups are not set again. */
  private bound: { pipeline: GPUComputePipeline; group: GPUBindGroup } | null = null;
  private toDestroy: GPUBuffer[] = [];
  /** Per-dispatch GPU times, while profiling (see startProfile). */
  private profiler: Profiler | null = null;
  /** Dispatches recorded since the last submit, and submits so far (for tests and benchmarks). */
  pending = 0;
  submits = 0;

  /** The first WebGPU error reported by the device (a shader or validation error, out of memory). */
  error: string | null = null;

  /** The device's maxComputeWorkgroupsPerDimension (read once: a limits read crosses into the WebGPU library). */
  private readonly maxGroups: number;

  constructor(readonly gpu: AcquiredDevice) {
    this.maxGroups = gpu.device.limits.maxComputeWorkgroupsPerDimension;
    gpu.device.addEventListener("uncapturederror", (e) => {
      this.error ??= `WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message.split("\n")[0]}`;
    });
  }

  /** The device, or the error that makes its results meaningless. */
  get device(): GPUDevice {
    if (this.gpu.lost) fail(this.gpu.lost);
    if (this.error) fail(this.error);
    return this.gpu.device;
  }

  /** Workgroup counts over x and y: at most maxComputeWorkgroupsPerDimension along x. */
  private grid(n: number): [number, number] {
    const max = this.maxGroups;
    return n <= max ? [n, 1] : [max, Math.ceil(n / max)];
  }

  private id(buffer: GPUBuffer): number {
    let id = this.ids.get(buffer);
    if (id === undefined) this.ids.set(buffer, (id = this.nextId++));
    return id;
  }

  private pipeline(d: Dispatch): GPUComputePipeline {
    const key = `${d.key}:${d.entry ?? "main"}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: d.key, code: d.source() });
      p = this.device.createComputePipeline({ label: key, layout: "auto", compute: { module, entryPoint: d.entry ?? "main" } });
      this.pipelines.set(key, p);
    }
    return p;
  }

  private uniform(params: ArrayBuffer): GPUBuffer {
    const words = new Uint32Array(params);
    const key = String.fromCharCode(...new Uint16Array(params)); // the bytes as a string
    let u = this.uniforms.get(key);
    if (!u) {
      const size = Math.max(16, Math.ceil(params.byteLength / 16) * 16);
      u = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint32Array(u.getMappedRange()).set(words);
      u.unmap();
      this.uniforms.set(key, u);
    }
    return u;
  }

  dispatch(d: Dispatch): void {
    const pipeline = this.pipeline(d);
    const uniform = this.uniform(d.params);
    const label = `${d.key}:${d.entry ?? "main"}`;
    let key = `${label}|${this.id(uniform)}|`;
    for (const b of d.bindings) key += b ? `${this.id(b.buffer)}@${b.offset ?? 0}+${b.size},` : "-,";
    let group = this.bindGroups.get(key);
    if (!group) {
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
      d.bindings.forEach((b, i) => b && entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } }));
      group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      this.bindGroups.set(key, group);
    }
    const [x, y] = this.grid(d.workgroups);
    this.encode({ label, pipeline, group, x, y });
  }

  copy(dst: GPUBuffer, dstOffset: number, src: GPUBuffer, srcOffset: number, size: number): void {
    this.encode({ src, srcOffset, dst, dstOffset, size });
  }

  /**
   * Records what `record` records (dispatches and copies, no host writes or reads) and keeps it under `key`; later
   * calls with the same key record the kept commands again without calling `record`. The key must name everything
   * the commands depend on. Freeing a buffer drops every kept sequence.
   */
  replay(key: string, record: () => void): void {
    const kept = this.traces.get(key);
    if (kept) {
      void this.device; // fails here if the device is lost or in error
      for (const c of kept) this.encode(c);
      return;
    }
    if (this.trace) fail("replay calls do not nest");
    const trace: Command[] = (this.trace = []);
    try {
      record();
    } finally {
      this.trace = null;
    }
    this.traces.set(key, trace);
  }

  private encode(c: Command): void {
    this.trace?.push(c);
    this.encoder ??= this.device.createCommandEncoder();
    this.pending++;
    if (!("pipeline" in c)) {
      this.pass?.end();
      this.pass = null;
      this.encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
      return;
    }
    if (this.profiler) {
      // profiling: one pass per dispatch, timestamps at its start and end
      this.pass?.end();
      this.pass = this.encoder.beginComputePass({ timestampWrites: this.profiler.next(c.label) });
      this.bound = null;
    } else if (!this.pass) {
      this.pass = this.encoder.beginComputePass();
      this.bound = null;
    }
    if (this.bound?.pipeline !== c.pipeline) this.pass.setPipeline(c.pipeline);
    if (this.bound?.group !== c.group) this.pass.setBindGroup(0, c.group);
    this.bound = c;
    this.pass.dispatchWorkgroups(c.x, c.y);
  }

  /** Submits what was recorded; buffers freed meanwhile are destroyed after it. */
  flush(): void {
    if (this.encoder) {
      this.pass?.end();
      this.pass = null;
      this.profiler?.resolve(this.encoder);
      this.device.queue.submit([this.encoder.finish()]);
      void this.profiler?.collect();
      this.encoder = null;
      this.pending = 0;
      this.submits++;
    }
    for (const b of this.toDestroy) this.forget(b);
    this.toDestroy = [];
  }

  /** Host → buffer, ordered after everything recorded so far. */
  write(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    if (this.trace) fail("a host write while commands are recorded for replay");
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    if (this.trace) fail("a host read while commands are recorded for replay");
    const padded = Math.ceil(size / 4) * 4;
    const i = this.staging.findIndex((s) => s.size >= padded);
    const staging = i >= 0 ? this.staging.splice(i, 1)[0] : this.device.createBuffer({ size: padded, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.copy(staging, 0, buffer, offset, padded);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    } catch (e) {
      fail(this.gpu.lost ?? `WebGPU read of ${size} bytes failed: ${String(e)}`);
    }
    const out = staging.getMappedRange(0, padded).slice(0, size);
    staging.unmap();
    this.staging.push(staging);
    if (this.error) fail(this.error);
    return out;
  }

  /** Destroys the buffer once recorded work that may use it has been submitted. */
  release(buffer: GPUBuffer): void {
    if (this.encoder) this.toDestroy.push(buffer);
    else this.forget(buffer);
  }

  private forget(buffer: GPUBuffer): void {
    this.traces.clear();
    const id = this.ids.get(buffer);
    if (id !== undefined) {
      const mark = `${id}@`;
      for (const key of this.bindGroups.keys()) if (key.split("|")[2].split(",").some((b) => b.startsWith(mark))) this.bindGroups.delete(key);
    }
    buffer.destroy();
  }

  /** Times every following dispatch on the GPU (needs `timestamp-query`); dispatches go one per pass. */
  startProfile(): void {
    if (!this.gpu.features.timestampQuery) fail("profiling needs the timestamp-query feature, which this device lacks");
    this.flush();
    this.profiler = new Profiler(this.device);
  }

  /** Stops profiling: GPU milliseconds and dispatch counts per program entry point. */
  async stopProfile(): Promise<Map<string, { count: number; ms: number }>> {
    const p = this.profiler;
    if (!p) fail("no profile was started");
    this.flush();
    this.profiler = null;
    await p.collect();
    return p.totals;
  }

  dispose(): void {
    this.flush();
    for (const b of [...this.uniforms.values(), ...this.staging]) b.destroy();
  }
}

/** Timestamp pairs of the dispatches of one submit, resolved into a buffer and read back after it. */
class Profiler {
  private static readonly MAX = 2048; // dispatches per submit: 2 timestamps each, 4096 queries at most
  private readonly query: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private keys: string[] = [];
  private submitted: { keys: string[]; readback: GPUBuffer } | null = null;
  private reading: Promise<void> = Promise.resolve();
  readonly totals = new Map<string, { count: number; ms: number }>();

  constructor(private readonly device: GPUDevice) {
    this.query = device.createQuerySet({ type: "timestamp", count: 2 * Profiler.MAX });
    this.resolved = device.createBuffer({ size: 16 * Profiler.MAX, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  next(key: string): GPUComputePassTimestampWrites {
    if (this.keys.length === Profiler.MAX) fail(`profiling: more than ${Profiler.MAX} dispatches in one submit`);
    const i = this.keys.push(key) - 1;
    return { querySet: this.query, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  resolve(encoder: GPUCommandEncoder): void {
    if (this.keys.length === 0) return;
    const readback = this.device.createBuffer({ size: 16 * this.keys.length, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    encoder.resolveQuerySet(this.query, 0, 2 * this.keys.length, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, readback, 0, 16 * this.keys.length);
    this.submitted = { keys: this.keys, readback };
    this.keys = [];
  }

  /** Adds the submitted dispatches' times to the totals (one readback at a time). */
  collect(): Promise<void> {
    if (!this.submitted) return this.reading;
    const { keys, readback } = this.submitted;
    this.submitted = null;
    this.reading = this.reading.then(async () => {
      await readback.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(readback.getMappedRange());
      keys.forEach((k, i) => {
        const e = this.totals.get(k) ?? { count: 0, ms: 0 };
        e.count++;
        e.ms += Number(t[2 * i + 1] - t[2 * i]) / 1e6;
        this.totals.set(k, e);
      });
      readback.destroy();
    });
    return this.reading;
  }
}
