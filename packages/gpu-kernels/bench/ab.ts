/**
 * Decode on a real GPU with one of the backend's optional decode aids switched on and off in one process, so that
 * both sides share the machine's state (`node ab.mjs 130m:f32 [2.7b:f16 …]`; AB=replay or AB=stack):
 * - decode tok/s as `mamba2 bench` times it, and the host's time to record and submit one device step (the
 *   synchronous part of nextGreedy), in rounds on, off, off, on, on, off, on, off;
 * - the GPU's time a step (the wait after submit, nothing else in flight): device steps, which back the cache up,
 *   against steps from host ids, which do not; stacked states, then per-layer ones, then stacked;
 * - with DOUBLE=1, each fused kernel's share of a step: the wait with that kernel dispatched twice, less the plain
 *   wait (the doubled kernels compute garbage; only the time counts).
 * GEN sets the decode steps (default 128), HOST the steps per host or GPU figure (32). A folder holding a model in
 * place of SHAPE:DTYPE loads it. How to run it on the lent GPU machine: BENCHMARKS.md.
 */
import { buildModel, type Mamba2Model, shapeConfig, syntheticWeights, type WeightDType } from "@mamba2/core";
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
    const cache = model.createCache(1);
    const step = { tokens: be.zeros([1], "i32"), backup: model.createCache(1) };
    const host = await steps(() => model.nextGreedy(step, cache), "host");
    cache.free();
    step.backup.free();
    be.free(step.tokens);
    console.log(`  ${AB} ${on ? "on " : "off"}: decode ${rate.toFixed(1)} tok/s, host ${host.toFixed(3)} ms a step`);
  }
  set("replay", true);

  for (const stacked of [true, false, true]) {
    set("stack", stacked);
    for (const device of [true, false]) {
      const cache = model.createCache(1);
      const step = { tokens: be.zeros([1], "i32"), backup: model.createCache(1) };
      const wait = await steps(() => (device ? model.nextGreedy(step, cache) : model.nextGreedy([[7]], cache)), "wait");
      console.log(`  GPU wait a step, ${device ? "device step (backup copies)" : "host ids (no copies)"}${stacked ? ", stacked" : ""}: ${wait.toFixed(3)} ms`);
      cache.free();
      step.backup.free();
      be.free(step.tokens);
    }
  }
  set("stack", true);

  if (process.env.DOUBLE) {
    const kernels = be.kernels as unknown as Record<string, (...a: unknown[]) => void>;
    const cache = model.createCache(1);
    const wait = () => steps(() => model.nextGreedy([[7]], cache), "wait");
    for (let round = 0; round < 2; round++) {
      const base = await wait();
      const parts = [`plain ${base.toFixed(3)} ms`];
      for (const name of ["rmsNormMatmulConv", "ssmStep", "gatedNormMatmulAdd", "rmsNormMatmul", "argmax", "embedding"]) {
        const f = kernels[name];
        kernels[name] = (...a) => (f(...a), f(...a));
        parts.push(`${name} +${((await wait()) - base).toFixed(3)}`);
        kernels[name] = f;
      }
      console.log(`  doubled (ms a step): ${parts.join(", ")}`);
    }
    cache.free();
  }
  model.releaseWorkspaces();
  be.dispose();
}
