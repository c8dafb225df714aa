/**
 * createRuntime: picks the backend a model runs on and says why. `device: "auto"` takes the first that works of
 * WebGPU (a hardware adapter), WASM (SIMD or scalar, threads where possible) and the reference backend;
 * `rt.selection` has one entry per backend with what was found. An explicit device that cannot run here fails
 * with the reason; nothing falls back silently.
 */
import { type Backend, createReferenceBackend, fail } from "@mamba2/core";
import { createWebGpuBackend, probeWebGpu, type WebGpuProbe } from "@mamba2/gpu-kernels";
import { createWasmBackend } from "@mamba2/wasm-kernels";
import { type Capabilities, probeThreads, probeWasm } from "./capabilities.js";

export type DeviceName = "webgpu" | "wasm" | "reference";
export type Device = "auto" | DeviceName;
export const DEVICES: readonly Device[] = ["auto", "webgpu", "wasm", "reference"];

export interface RuntimeOptions {
  /** Default "auto": WebGPU on a hardware adapter, else WASM, else the reference backend. */
  device?: Device;
  /**
   * WASM threads (default 1). More than one needs workers over a shared memory (Node.js, Deno, Bun, cross-origin
   * isolated pages); where there are none, "auto" falls back to one, reported, and "wasm" fails with the reason.
   */
  threads?: number;
  /** The WebGPU entry point (default navigator.gpu; in Node.js `await nodeGpu()` from @mamba2/gpu-kernels/node). */
  gpu?: GPU;
  /** Why `gpu` is missing, for the report when there is none (set by the Node entry). */
  gpuUnavailable?: string;
  powerPreference?: GPUPowerPreference;
  /** Accept a software WebGPU adapter (SwiftShader, llvmpipe) under "auto" (default false: WASM is faster on a CPU). */
  allowSoftwareGpu?: boolean;
}

/** One backend as the runtime saw it. */
export interface BackendReport {
  readonly device: DeviceName;
  /** Whether it can run here (false also when it was not probed). */
  readonly available: boolean;
  readonly chosen: boolean;
  /** One line: what was found, and why it was or was not chosen. */
  readonly reason: string;
}

export interface Runtime {
  readonly device: DeviceName;
  readonly backend: Backend;
  /** WASM threads in use (1 for the other backends). */
  readonly threads: number;
  /** Every backend, in order of preference, with why it was chosen or not. */
  readonly selection: readonly BackendReport[];
  /** What was probed (the WebGPU entry is `available: false, reason: "not probed…"` when it was not asked). */
  readonly capabilities: Capabilities;
  /** Releases the backend (WASM threads, GPU buffers). */
  dispose(): void;
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

function adapterName(p: WebGpuProbe): string {
  const a = p.adapter;
  const name = a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(" ") : "";
  const features = ["shader-f16", "subgroups"].filter((f) => p.features.includes(f));
  const binding = p.limits.maxStorageBufferBindingSize;
  const extras = [...features, ...(binding ? [`${Math.round(binding / 2 ** 20)} MiB bindings`] : [])];
  return `${name || "unnamed adapter"}${extras.length ? ` (${extras.join(", ")})` : ""}`;
}

const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0];

/** Picks and creates the backend; see RuntimeOptions. */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const device = options.device ?? "auto";
  if (!DEVICES.includes(device)) fail(`unknown device ${JSON.stringify(device)} (expected ${DEVICES.join(", ")})`);
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) fail(`threads must be a positive integer, found ${threads}`);
  if (threads > 1 && (device === "webgpu" || device === "reference")) fail(`threads apply to the wasm backend, not ${device}`);

  const wants = (d: DeviceName) => device === "auto" || device === d;
  const skipped = (d: DeviceName): BackendReport => ({ device: d, available: false, chosen: false, reason: `not probed: device "${device}" was asked for` });
  const reports: BackendReport[] = [];
  let chosen: { device: DeviceName; backend: Backend; threads: number } | null = null;

  // WebGPU
  const webgpu: WebGpuProbe = !wants("webgpu")
    ? { available: false, reason: "not probed", features: [], limits: {} }
    : options.gpu
      ? await probeWebGpu(options.gpu, options.powerPreference)
      : options.gpuUnavailable
        ? { available: false, reason: options.gpuUnavailable, features: [], limits: {} }
        : await probeWebGpu(undefined, options.powerPreference);
  if (!wants("webgpu")) reports.push(skipped("webgpu"));
  else if (!webgpu.available) {
    if (device === "webgpu") fail(`device "webgpu" is not available: ${webgpu.reason}`);
    reports.push({ device: "webgpu", available: false, chosen: false, reason: webgpu.reason ?? "unavailable" });
  } else {
    const name = adapterName(webgpu);
    if (device === "auto" && !options.allowSoftwareGpu && SOFTWARE_ADAPTER.test(name)) {
      reports.push({ device: "webgpu", available: true, chosen: false, reason: `software adapter ${name}: not chosen, WASM is faster on a CPU (allowSoftwareGpu: true to use it)` });
    } else {
      try {
        const backend = await createWebGpuBackend({ gpu: options.gpu, powerPreference: options.powerPreference });
        chosen = { device: "webgpu", backend, threads: 1 };
        reports.push({ device: "webgpu", available: true, chosen: true, reason: `chosen: ${name}` });
      } catch (e) {
        if (device === "webgpu") throw e;
        reports.push({ device: "webgpu", available: false, chosen: false, reason: `adapter ${name} found, but: ${reasonOf(e)}` });
      }
    }
  }

  // WASM
  const wasm = probeWasm();
  const threadsProbe = probeThreads();
  if (!wants("wasm")) reports.push(skipped("wasm"));
  else if (chosen) reports.push({ device: "wasm", available: wasm.available, chosen: false, reason: wasm.available ? `available (${wasm.simd ? "SIMD" : "scalar"}), not chosen: ${chosen.device} comes first` : (wasm.reason ?? "unavailable") });
  else if (!wasm.available) {
    if (device === "wasm") fail(`device "wasm" is not available: ${wasm.reason}`);
    reports.push({ device: "wasm", available: false, chosen: false, reason: wasm.reason ?? "unavailable" });
  } else {
    let n = threads;
    let note = "";
    if (threads > 1 && !threadsProbe.available) {
      if (device === "wasm") fail(`threads: ${threads} is not possible here: ${threadsProbe.reason}`);
      n = 1;
      note = ` (not ${threads}: ${threadsProbe.reason})`;
    }
    const backend = await createWasmBackend({ threads: n });
    chosen = { device: "wasm", backend, threads: n };
    reports.push({ device: "wasm", available: true, chosen: true, reason: `chosen: ${wasm.simd ? "SIMD" : "scalar build (no SIMD here)"}, ${n} thread${n > 1 ? "s" : ""}${note}` });
  }

  // Reference
  if (!wants("reference")) reports.push(skipped("reference"));
  else if (chosen) reports.push({ device: "reference", available: true, chosen: false, reason: `available, not chosen: ${chosen.device} is faster` });
  else {
    chosen = { device: "reference", backend: createReferenceBackend(), threads: 1 };
    reports.push({ device: "reference", available: true, chosen: true, reason: device === "reference" ? "chosen: asked for" : "chosen: the only backend that runs here" });
  }

  const picked = chosen!;
  return {
    device: picked.device,
    backend: picked.backend,
    threads: picked.threads,
    selection: reports,
    capabilities: { webgpu, wasm, threads: threadsProbe },
    dispose: () => (picked.backend as Backend & { dispose?: () => void }).dispose?.(),
  };
}
