/**
 * The device memory's bandwidth, as `mamba2 bench` reports it beside decode speed: copies of one buffer into
 * another (copyBufferToBuffer), each counted as its bytes read plus its bytes written. One copy is timed first;
 * then enough copies go in one submit to take ~5 ms, so that the submit's latency hardly counts (a GPU copies
 * 64 MiB in tens of µs); the best of 3 such submits is the figure, in bytes per second.
 */
import type { Runner } from "./runner.js";

const BYTES = 64 * 2 ** 20;

export async function copyBandwidth(runner: Runner, device: GPUDevice): Promise<number> {
  const size = Math.min(BYTES, Math.floor(device.limits.maxBufferSize / 4) * 4);
  const usage = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const [src, dst] = [device.createBuffer({ size, usage }), device.createBuffer({ size, usage })];
  const seconds = async (copies: number): Promise<number> => {
    runner.flush(); // nothing of the model's in flight when the clock starts
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    for (let i = 0; i < copies; i++) runner.copy(dst, 0, src, 0, size);
    runner.flush();
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / 1000;
  };
  try {
    await seconds(1); // first use: the buffers' memory is committed
    const copies = Math.min(64, Math.max(1, Math.ceil(0.005 / (await seconds(1)))));
    const best = Math.min(await seconds(copies), await seconds(copies), await seconds(copies));
    return (2 * size * copies) / best;
  } finally {
    src.destroy();
    dst.destroy();
  }
}
