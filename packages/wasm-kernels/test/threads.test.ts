// The thread pool's handshake: each worker runs each op exactly once, whatever order the caller's sequence bump
// and its notify reach the worker in.
import { describe, expect, it } from "vitest";
import { THREADS_WASM } from "../src/kernels.generated.js";
import { CONTROL_BYTES, createPool, type ParallelOp } from "../src/threads.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("wasm thread pool", () => {
  it("a worker woken with no new op waits again instead of running the last op twice", async () => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const module = await WebAssembly.compile(Uint8Array.from(atob(THREADS_WASM), (c) => c.charCodeAt(0)));
    const kernels = (await WebAssembly.instantiate(module, { env: { memory } })).exports as unknown as Record<ParallelOp, (...a: number[]) => void> & { heap_base(): number };
    const control = Math.ceil(kernels.heap_base() / 64) * 64;
    const pool = await createPool(module, memory, control, 2, kernels);
    const pending = new Int32Array(memory.buffer, control + 4, 1); // workers yet to finish the current op
    const seq = new Int32Array(memory.buffer, control, 1);
    const read = [control + CONTROL_BYTES, 1 << 16]; // read_bandwidth over 64 KiB after the control block

    pool.run("read_bandwidth", read);
    await sleep(100); // the worker has run its part and blocks on the sequence number
    // A notify that comes after the worker has already seen the bump and run the op: what a caller preempted
    // between bumping the sequence number and notifying delivers.
    Atomics.notify(seq, 0);
    await sleep(100);
    expect(Atomics.load(pending, 0)).toBe(0); // −1 had the worker run the op again
    pool.run("read_bandwidth", read);
    expect(Atomics.load(pending, 0)).toBe(0);
    pool.terminate();
  });
});
