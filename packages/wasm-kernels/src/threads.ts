import { fail } from "@mamba2/core";

/** Kernels that split their work by `part` of `parts` (their last two arguments). */
export const PARALLEL_OPS = ["matmul", "ssd_scan", "causal_conv1d", "read_bandwidth"] as const;
export type ParallelOp = (typeof PARALLEL_OPS)[number];

/** Bytes of the control block: i32 seq, pending, op, argc, failed (+ padding); then 32 f64 arguments. */
export const CONTROL_BYTES = 32 + 8 * 32;

/**
 * The worker: instantiates the same module over the shared memory, then waits on `seq`; on each change runs its
 * part of the op whose arguments are in the control block (a trap sets `failed`, so the caller never waits on a
 * dead part), and the last one to finish wakes the caller.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { module, memory, control, part, parts, ops } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const head = new Int32Array(memory.buffer, control, 8);
const args = new Float64Array(memory.buffer, control + 32, 32);
let seq = 0;
parentPort.postMessage("ready");
for (;;) {
  Atomics.wait(head, 0, seq);
  seq = Atomics.load(head, 0);
  if (head[2] < 0) break;
  try {
    kernels[ops[head[2]]](...args.subarray(0, head[3]), part, parts);
  } catch {
    Atomics.store(head, 4, 1);
  }
  if (Atomics.sub(head, 1, 1) === 1) Atomics.notify(head, 1);
}
`;

/** Runs a parallel op on `parts` threads: this one takes part 0, the workers parts 1 … parts − 1. */
export interface Pool {
  readonly parts: number;
  run(op: ParallelOp, args: number[]): void;
  terminate(): void;
}

type Kernel = (...args: number[]) => void;

export async function createPool(module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, parts: number, kernels: Record<ParallelOp, Kernel>): Promise<Pool> {
  const threads = await import("node:worker_threads").catch(() => null);
  if (!threads) fail("WASM threads: workers are only available in Node.js for now (use threads: 1)");
  const workers = Array.from({ length: parts - 1 }, (_, i) => {
    const w = new threads.Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control, part: i + 1, parts, ops: PARALLEL_OPS } });
    w.unref();
    return w;
  });
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  })));
  const head = new Int32Array(memory.buffer, control, 8);
  const args = new Float64Array(memory.buffer, control + 32, 32);
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
        for (let left = Atomics.load(head, 1); left !== 0; left = Atomics.load(head, 1)) Atomics.wait(head, 1, left);
      }
      if (Atomics.load(head, 4) !== 0) fail(`WASM threads: ${op} trapped in a worker`);
    },
    terminate() {
      post(-1, []);
    },
  };
}
