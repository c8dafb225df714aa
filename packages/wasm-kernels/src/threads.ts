/**
 * The thread pool of the WASM backend: N − 1 workers instantiate the same module over the same shared
 * `WebAssembly.Memory` and run their part of a kernel when the caller bumps a sequence number in a control
 * block in that memory. One pool serves every runtime; only how a worker starts differs:
 * - Node.js: `worker_threads` with the worker source as an eval'd script;
 * - browsers, Deno, Bun: a Web Worker (module type) from a Blob URL of the same source, so no file is located.
 *
 * Waiting: the caller runs part 0 itself, then waits for the others with `Atomics.wait` where its thread may block
 * (Node.js, Deno, Bun, any Worker). A browser page's main thread may not block: there it spins on `Atomics.load`
 * until the last part is done. Kernels are synchronous, so the page is busy for the kernel either way; the spin
 * costs one core of busy-waiting for the imbalance between parts (short: parts are equal slices) and nothing
 * else. An app that wants its page responsive runs the backend in a Worker, where the caller blocks instead.
 * Workers and a blocking caller also spin a short while (SPIN loads, tens of µs) before they block: a decode step
 * runs ~100 kernels a few µs apart, and waking a blocked thread costs ~10 µs each time.
 */
import { fail } from "@mamba2/core";

/** Kernels that split their work by `part` of `parts` (their last two arguments). */
export const PARALLEL_OPS = ["matmul", "ssd_scan", "ssm_step", "causal_conv1d", "gated_rms_norm", "read_bandwidth"] as const;
export type ParallelOp = (typeof PARALLEL_OPS)[number];

/** Bytes of the control block: i32 seq, pending, op, argc, failed (+ padding); then 32 f64 arguments. */
export const CONTROL_BYTES = 32 + 8 * 32;

/** Loads of a changing slot before a thread blocks on it. */
const SPIN = 20000;

/**
 * The worker body, shared by both kinds of worker: `start` gets the module, the memory and its part, then waits
 * on `seq`; on each change it runs its part of the op whose arguments are in the control block (a trap sets
 * `failed`, so the caller never waits on a dead part), and the last one to finish wakes the caller.
 */
const WORKER_BODY = `
const SPIN = ${SPIN};
const start = ({ module, memory, control, part, parts, ops }, ready) => {
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const head = new Int32Array(memory.buffer, control, 8);
  const args = new Float64Array(memory.buffer, control + 32, 32);
  let seq = Atomics.load(head, 0);
  ready();
  for (;;) {
    for (let i = 0; i < SPIN && Atomics.load(head, 0) === seq; i++);
    // Wait again after a wake with seq unchanged: the caller bumps seq, then notifies, and a worker that saw the
    // bump while spinning may finish the op and wait before that notify arrives (its op must not run twice).
    while (Atomics.load(head, 0) === seq) Atomics.wait(head, 0, seq);
    seq = Atomics.load(head, 0);
    if (head[2] < 0) break;
    try {
      kernels[ops[head[2]]](...args.subarray(0, head[3]), part, parts);
    } catch {
      Atomics.store(head, 4, 1);
    }
    if (Atomics.sub(head, 1, 1) === 1) Atomics.notify(head, 1);
  }
};
`;
const NODE_WORKER = `${WORKER_BODY}
const { parentPort } = require("node:worker_threads");
parentPort.once("message", (data) => start(data, () => parentPort.postMessage("ready")));
`;
const WEB_WORKER = `${WORKER_BODY}
self.onmessage = (event) => start(event.data, () => self.postMessage("ready"));
`;

/** A started worker, whatever its kind. */
interface Thread {
  terminate(): void;
}

/**
 * Why threads cannot run here, in one line (null when they can): a shared memory needs SharedArrayBuffer, which a
 * browser page has only when cross-origin isolated, and workers: Web Workers or Node.js's worker_threads.
 */
export function threadsUnavailable(): string | null {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown; Worker?: unknown; process?: { versions?: { node?: unknown } } };
  if (g.crossOriginIsolated === false) {
    return "WASM threads need a cross-origin isolated page (crossOriginIsolated is false): serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or use threads: 1";
  }
  if (typeof g.SharedArrayBuffer !== "function") return "WASM threads need SharedArrayBuffer, which this runtime lacks (use threads: 1)";
  if (typeof g.Worker !== "function" && typeof g.process?.versions?.node !== "string") return "WASM threads need Web Workers or Node.js's worker_threads, which this runtime lacks (use threads: 1)";
  return null;
}

type WebWorker = { postMessage(m: unknown): void; terminate(): void; onmessage: ((e: { data: unknown }) => void) | null; onerror: ((e: { message?: string }) => void) | null };
type WebWorkerClass = new (url: string, options: { type: "module"; name: string }) => WebWorker;

/**
 * Starts one worker per start message and resolves once each has answered "ready": Web Workers where the runtime
 * has them (browsers, Deno, Bun), else Node's worker_threads.
 */
async function spawn(messages: unknown[]): Promise<Thread[]> {
  const Web = (globalThis as { Worker?: WebWorkerClass }).Worker;
  if (typeof Web === "function") {
    const url = URL.createObjectURL(new Blob([WEB_WORKER], { type: "text/javascript" }));
    const workers = messages.map((_, i) => new Web(url, { type: "module", name: `mamba2-wasm-${i + 1}` }));
    const started = messages.map((data, i) => new Promise<void>((resolve, reject) => {
      const w = workers[i];
      w.onmessage = () => resolve();
      w.onerror = (e) => reject(new Error(`WASM threads: a worker failed to start: ${e.message ?? "unknown error"}`));
      w.postMessage(data);
    }));
    return settle(workers, started).finally(() => URL.revokeObjectURL(url));
  }
  const threads = await import("node:worker_threads").catch(() => null);
  if (!threads) fail("WASM threads: this runtime has neither Web Workers nor Node.js worker_threads (use threads: 1)");
  const workers = messages.map(() => new threads.Worker(NODE_WORKER, { eval: true }));
  const started = messages.map((data, i) => new Promise<void>((resolve, reject) => {
    const w = workers[i];
    w.unref();
    w.once("message", () => resolve());
    w.once("error", reject);
    w.postMessage(data);
  }));
  return settle(workers.map((w) => ({ terminate: () => void w.terminate() })), started);
}

/** The workers once all have started; if one fails, all are stopped and its error thrown. */
async function settle(workers: Thread[], started: Promise<void>[]): Promise<Thread[]> {
  try {
    await Promise.all(started);
    return workers;
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  }
}

/** Runs a parallel op on `parts` threads: this one takes part 0, the workers parts 1 … parts − 1. */
export interface Pool {
  readonly parts: number;
  run(op: ParallelOp, args: number[]): void;
  terminate(): void;
}

type Kernel = (...args: number[]) => void;

/** Whether this thread may block in `Atomics.wait` (not a browser page's main thread). */
function canBlock(head: Int32Array): boolean {
  try {
    Atomics.wait(head, 7, 1, 0); // slot 7 (padding) holds 0: returns "not-equal" at once where waiting is allowed
    return true;
  } catch {
    return false;
  }
}

export async function createPool(module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, parts: number, kernels: Record<ParallelOp, Kernel>): Promise<Pool> {
  const workers = await spawn(Array.from({ length: parts - 1 }, (_, i) => ({ module, memory, control, part: i + 1, parts, ops: PARALLEL_OPS })));
  const head = new Int32Array(memory.buffer, control, 8);
  const args = new Float64Array(memory.buffer, control + 32, 32);
  const blocking = canBlock(head);
  const post = (op: number, argv: number[]) => {
    args.set(argv);
    head[3] = argv.length;
    head[2] = op;
    head[4] = 0;
    Atomics.store(head, 1, parts - 1);
    Atomics.add(head, 0, 1);
    Atomics.notify(head, 0);
  };
  return {
    parts,
    run(op, argv) {
      post(PARALLEL_OPS.indexOf(op), argv);
      try {
        kernels[op](...argv, 0, parts);
      } finally {
        for (let i = 0, left = Atomics.load(head, 1); left !== 0; i++, left = Atomics.load(head, 1)) if (blocking && i >= SPIN) Atomics.wait(head, 1, left);
      }
      if (Atomics.load(head, 4) !== 0) fail(`WASM threads: ${op} trapped in a worker`);
    },
    terminate() {
      post(-1, []);
      for (const w of workers) w.terminate();
    },
  };
}
