/**
 * What this JavaScript runtime offers each backend, probed without loading a model: a WebGPU adapter (its
 * features and limits), WebAssembly with or without SIMD, and threads for the WASM kernels (a shared memory plus
 * workers: Node.js's worker_threads, or Web Workers in Deno, Bun and browsers, where SharedArrayBuffer exists only
 * under cross-origin isolation).
 */
import { probeWebGpu, type WebGpuProbe } from "@mamba2/gpu-kernels";
import { wasmThreadsUnavailable } from "@mamba2/wasm-kernels";

export type { WebGpuProbe };

export interface WasmProbe {
  readonly available: boolean;
  readonly simd: boolean;
  /** Why WebAssembly (or its SIMD) is missing. */
  readonly reason?: string;
}

export interface ThreadsProbe {
  /** Whether the WASM backend can run more than one thread here. */
  readonly available: boolean;
  /** Logical processors, where the runtime tells (navigator.hardwareConcurrency). */
  readonly cores: number | null;
  readonly reason?: string;
}

export interface Capabilities {
  readonly webgpu: WebGpuProbe;
  readonly wasm: WasmProbe;
  readonly threads: ThreadsProbe;
}

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): valid only where WebAssembly SIMD is.
const SIMD_PROBE = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);

export function probeWasm(): WasmProbe {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") {
    return { available: false, simd: false, reason: "this runtime has no WebAssembly" };
  }
  const simd = WebAssembly.validate(SIMD_PROBE);
  return simd ? { available: true, simd } : { available: true, simd, reason: "no WebAssembly SIMD: the scalar build runs" };
}

export function probeThreads(): ThreadsProbe {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null;
  const reason = wasmThreadsUnavailable();
  return reason ? { available: false, cores, reason } : { available: true, cores };
}

/** Probes everything; `gpu` is the WebGPU entry point to ask (default navigator.gpu). */
export async function probeCapabilities(options: { gpu?: GPU } = {}): Promise<Capabilities> {
  return { webgpu: await probeWebGpu(options.gpu), wasm: probeWasm(), threads: probeThreads() };
}
