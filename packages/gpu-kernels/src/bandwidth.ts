/**
 * The device memory's read bandwidth, as `mamba2 bench` reports it beside decode speed: a kernel that loads every
 * byte of a 256 MiB buffer (read-bandwidth.wgsl; larger than a GPU's L2, so the bytes come from memory). One pass
 * is timed first; then enough passes go in one submit to take ~5 ms, so that the submit's latency hardly counts
 * (an H200 reads 256 MiB in under 0.1 ms); the best of 3 such submits is the figure, in bytes per second.
 * (Buffer copies are no probe: on an H200 copyBufferToBuffer moved 0.5–0.8 TB/s where kernels read 2+ TB/s.)
 */
import source from "./shaders/read-bandwidth.wgsl";
import { groupsOf, header } from "./programs/context.js";
import type { Runner } from "./runner.js";
import { compose, Params } from "./wgsl.js";

/** Invocations of the grid: enough to keep a large GPU's memory busy, each striding over the buffer. */
const THREADS = 4096 * 256;

/** `buffer`: the backend's allocator (a storage buffer of that many bytes; out of memory becomes the device's error). */
export async function readBandwidth(runner: Runner, buffer: (bytes: number, what: string) => GPUBuffer): Promise<number> {
  const device = runner.device;
  const limits = device.limits;
  const size = Math.min(256 * 2 ** 20, Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 16) * 16);
  const [src, out] = [buffer(size, "the bandwidth probe"), buffer(16, "the bandwidth probe")];
  const pass = () => runner.dispatch({
    key: "read-bandwidth",
    source: () => compose(header({}), source),
    params: new Params().u32(size / 16, THREADS).bytes(),
    bindings: [{ buffer: out, size: 16 }, { buffer: src, size }],
    workgroups: groupsOf(THREADS),
  });
  const seconds = async (passes: number): Promise<number> => {
    runner.flush(); // nothing of the model's in flight when the clock starts
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    for (let i = 0; i < passes; i++) pass();
    runner.flush();
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / 1000;
  };
  try {
    await seconds(1); // first use: the pipeline is compiled, the buffer's memory committed
    const passes = Math.min(64, Math.max(1, Math.ceil(0.005 / (await seconds(1)))));
    return (size * passes) / Math.min(await seconds(passes), await seconds(passes), await seconds(passes));
  } finally {
    runner.release(src);
    runner.release(out);
  }
}
