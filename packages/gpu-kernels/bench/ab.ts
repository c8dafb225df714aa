/**
 * Decode on a real GPU with one of the backend's optional decode aids switched on and off in one process, so that
 * both sides share the machine's state (`node ab.mjs 130m:f32 [2.7b:f16 …]`; AB=replay or AB=stack):
 * - decode tok/s as `mamba2 bench` times it, the host's time to record and submit one device step (the
 *   synchronous part of nextGreedy), and the time a step of GEN device steps recorded back to back and read only
 *   at the end (the GPU's own rate, where recording is faster), in rounds on, off, off, on, on, off, on, off;
 * - the GPU's time a step (the wait after submit, nothing else in flight): device steps, which back the cache up,
 *   against steps from host ids, which do not; stacked states, then per-layer ones, then stacked;
 * - with DOUBLE=1, each fused kernel's share of a step: the time a step of unread device steps with that kernel
 *   dispatched twice, less the plain time (the doubled kernels compute garbage; only the time counts); likewise
 *   with the cache's backup copies doubled or left out, and with 2 or 4 steps a submit.
 * GEN sets the decode steps (default 128), HOST the steps per host or GPU figure (32). A folder holding a model in
 * place of SHAPE:DTYPE loads it. How to run it on the lent GPU machine: BENCHMARKS.md.
 */
import { buildModel, type DeviceStep, type Mamba2Cache, type Mamba2Model, shapeConfig, syntheticWeights, type WeightDType } from "@mamba2/core";
import { loadModelFromDir } from "@mamba2/core/node";
import { createWebGpuBackend, type GpuTensor, type WebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

const GEN = Number(process.env.GEN ?? 128);
const HOST = Number(process.env.HOST ?? 32);
const AB = process.env.AB === "stack" ? "stack" : "replay";

/** The backend with its optional methods writable, to switch them off and on. */
type Switchable = { -readonly [K in "replay" | "stack"]: WebGpuBackend[K] };

/** Mean ms of the last HOST of HOST + 2 calls: the host's (synchronous) part, or the wait for the result. */
async function steps(step: () => Promise<unknown>, part: "host" | "wait"): Promise<number> {
  let total = 0;
  for (let i = 0; i < HOST + 2; i++) {
    const s = performance.now();
    const result = step();
    const m = performance.now();
    await result;
    if (i >= 2) total += part === "host" ? m - s : performance.now() - m;
  }
  return total / HOST;
}

async function decodeRate(model: Mamba2Model<GpuTensor>, prompt: number[][]): Promise<number> {
  const greedy = (maxNewTokens: number) => ({ maxNewTokens, eosTokenId: null });
  const warm = model.createSession(); // compiles the prefill's and the decode step's pipelines
  await warm.complete(prompt, greedy(3));
  warm.free();
  const session = model.createSession();
  await session.complete(prompt, greedy(1));
  const s = performance.now();
  await session.complete(undefined, greedy(GEN));
  session.free();
  return GEN / ((performance.now() - s) / 1000);
}

/** `use` on a new one-row cache and DeviceStep (new tensors: their steps are recorded anew), freed afterwards. */
async function withStep<R>(model: Mamba2Model<GpuTensor>, be: WebGpuBackend, use: (cache: Mamba2Cache<GpuTensor>, step: DeviceStep<GpuTensor>) => Promise<R>): Promise<R> {
  const cache = model.createCache(1);
  const step = { tokens: be.zeros([1], "i32"), backup: model.createCache(1) };
  try {
    return await use(cache, step);
  } finally {
    cache.free();
    step.backup.free();
    be.free(step.tokens);
  }
}

/**
 * GEN device steps recorded back to back and read only at the end: ms a step, and the host's ms a step recording.
 * With `perSubmit` > 1, only every perSubmit-th step's tokens are read (a read submits what was recorded).
 */
function unread(model: Mamba2Model<GpuTensor>, be: WebGpuBackend, perSubmit = 1): Promise<{ step: number; recorded: number }> {
  return withStep(model, be, async (cache, step) => {
    await model.nextGreedy(step, cache);
    const readI32 = be.readI32;
    let n = 0;
    be.readI32 = (t) => (++n % perSubmit === 0 ? readI32.call(be, t) : Promise.resolve(new Int32Array(1)));
    try {
      const t0 = performance.now();
      const reads = Array.from({ length: GEN }, () => model.nextGreedy(step, cache));
      const recorded = performance.now() - t0;
      await Promise.all(reads);
      await be.sync();
      return { step: (performance.now() - t0) / GEN, recorded: recorded / GEN };
    } finally {
      be.readI32 = readI32;
    }
  });
}

/** GEN device steps, each awaited with `ahead` more recorded after it (a session's loop without the session): ms a step. */
function loop(model: Mamba2Model<GpuTensor>, be: WebGpuBackend, ahead: number): Promise<number> {
  return withStep(model, be, async (cache, step) => {
    await model.nextGreedy(step, cache);
    const t0 = performance.now();
    const queue = Array.from({ length: ahead }, () => model.nextGreedy(step, cache));
    for (let i = 0; i < GEN; i++) {
      queue.push(model.nextGreedy(step, cache));
      await queue.shift();
    }
    await Promise.all(queue);
    return (performance.now() - t0) / GEN;
  });
}

const gpu = await nodeGpu();
for (const arg of process.argv.slice(2)) {
  const [shape, dtype = "f32"] = arg.split(":");
  const be = await createWebGpuBackend({ gpu });
  const aids: Switchable = { replay: be.replay, stack: be.stack };
  const set = (name: keyof Switchable, on: boolean) => Object.assign(be, { [name]: on ? aids[name] : undefined });
  const t0 = performance.now();
  const model = shape.includes("/")
    ? await loadModelFromDir(shape, { backend: be })
    : await buildModel(shapeConfig(shape), syntheticWeights(shapeConfig(shape), dtype as WeightDType), { backend: be });
  console.log(`${arg}: built in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${be.adapter}`);
  const prompt = [Array.from({ length: 64 }, (_, t) => (t * 104729) % model.dims.vocab)];

  for (const on of [true, false, false, true, true, false, true, false]) {
    set(AB, on);
    const rate = await decodeRate(model, prompt);
    const host = await withStep(model, be, (cache, step) => steps(() => model.nextGreedy(step, cache), "host"));
    const u = await unread(model, be);
    const loops: string[] = [];
    for (const a of [0, 1, 2]) loops.push(`${a}: ${(await loop(model, be, a)).toFixed(3)}`);
    console.log(`  ${AB} ${on ? "on " : "off"}: decode ${rate.toFixed(1)} tok/s, host ${host.toFixed(3)} ms a step; ${GEN} steps unread: ${u.step.toFixed(3)} ms a step (recorded in ${u.recorded.toFixed(3)}); loops with steps ahead ${loops.join(", ")} ms a step`);
  }
  set("replay", true);

  for (const stacked of [true, false, true]) {
    set("stack", stacked);
    for (const device of [true, false]) {
      const wait = await withStep(model, be, (cache, step) => steps(() => (device ? model.nextGreedy(step, cache) : model.nextGreedy([[7]], cache)), "wait"));
      console.log(`  GPU wait a step, ${device ? "device step (backup copies)" : "host ids (no copies)"}${stacked ? ", stacked" : ""}: ${wait.toFixed(3)} ms`);
    }
  }
  set("stack", true);

  if (process.env.DOUBLE) {
    const kernels = be.kernels as unknown as Record<string, (...a: unknown[]) => void>;
    const wait = async () => (await unread(model, be)).step;
    for (let round = 0; round < 2; round++) {
      const base = await wait();
      const parts = [`plain ${base.toFixed(3)} ms`];
      const backend = be as unknown as Record<string, (...a: unknown[]) => void>;
      const copy = backend.copy;
      const names = ["rmsNormMatmulConv", "ssmStep", "gatedNormMatmulAdd", "rmsNormMatmul", "argmax", "embedding"];
      for (const [fns, name] of [...names.map((n) => [kernels, n] as const), [backend, "copy"] as const]) {
        const f = fns[name];
        fns[name] = (...a) => (f(...a), f(...a));
        parts.push(`${name} +${((await wait()) - base).toFixed(3)}`);
        fns[name] = f;
      }
      for (const k of [2, 4]) parts.push(`${k} steps a submit ${((await unread(model, be, k)).step - base).toFixed(3)}`);
      backend.copy = () => {};
      parts.push(`copy skipped ${((await wait()) - base).toFixed(3)}`);
      backend.copy = copy;
      console.log(`  doubled (ms a step): ${parts.join(", ")}`);
    }
  }
  model.releaseWorkspaces();
  be.dispose();
}
