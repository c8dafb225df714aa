/**
 * What this JavaScript runtime offers each backend, probed without loading a model: a WebGPU adapter (its
 * features and limits), WebAssembly with or without SIMD, and threads for the WASM kernels (a shared memory plus
 * workers: Node.js's worker_threads; in browsers SharedArrayBuffer exists only under cross-origin isolation, and
 * the WASM backend's workers run in Node.js only for now, not in browsers, Deno or Bun).
 */
import { probeWebGpu, type WebGpuProbe } from "@mamba2/gpu-kernels";

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

/** Node.js, Deno and Bun set process.versions.node; browsers and Electron renderers (sandboxed) do not. */
function isNodeLike(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === "string" && typeof (globalThis as { window?: unknown }).window === "undefined";
}

export function probeThreads(): ThreadsProbe {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null;
  if (typeof SharedArrayBuffer !== "function") {
    return { available: false, cores, reason: "no SharedArrayBuffer (a browser page needs cross-origin isolation: COOP same-origin + COEP require-corp)" };
  }
  if (!isNodeLike()) {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    return { available: false, cores, reason: isolated ? "the WASM backend's threads use Node.js workers; browsers run one thread for now" : "the page is not cross-origin isolated" };
  }
  const g = globalThis as { Deno?: unknown; process?: { versions?: { bun?: string } } };
  const other = g.Deno ? "Deno" : g.process?.versions?.bun ? "Bun" : null;
  if (other) return { available: false, cores, reason: `the WASM backend's worker threads run in Node.js, not yet in ${other}` };
  return { available: true, cores };
}

/** Probes everything; `gpu` is the WebGPU entry point to ask (default navigator.gpu). */
export async function probeCapabilities(options: { gpu?: GPU } = {}): Promise<Capabilities> {
  return { webgpu: await probeWebGpu(options.gpu), wasm: probeWasm(), threads: probeThreads() };
}
