/**
 * Where a step's time goes on a real GPU, for random weights of a real shape (`node profile.mjs 2.7b f16`):
 * - decode: ms a token of plain `nextGreedy` steps, and the host's share (recording, up to the read of the token);
 * - the GPU time of each kernel of one step, T = 1 and T = 2048 (timestamp queries, one pass per dispatch, so
 *   each figure includes a pass's overhead). Dawn rounds timestamps to ~65 µs unless told not to, as here.
 * How to run it on the lent GPU machine: BENCHMARKS.md ("WebGPU backend on an NVIDIA H200").
 */
import { buildModel, shapeConfig, syntheticWeights, type WeightDType } from "@mamba2/core";
import { create, globals } from "webgpu";
import { createWebGpuBackend } from "../src/index.js";

Object.assign(globalThis, globals);
const shape = process.argv[2] ?? "130m";
const dtype = (process.argv[3] ?? "f32") as WeightDType;
const be = await createWebGpuBackend({ gpu: create(["disable-dawn-features=timestamp_quantization"]) as GPU });
const config = shapeConfig(shape);
const model = await buildModel(config, syntheticWeights(config, dtype), { backend: be });
const cache = model.createCache(1);

const readI32 = be.readI32.bind(be);
let recorded = 0;
be.readI32 = (t) => {
  recorded = performance.now();
  return readI32(t);
};
let next = await model.nextGreedy([[1, 2, 3]], cache);
const warm = 8;
const steps = 64;
let host = 0;
let total = 0;
for (let i = 0; i < warm + steps; i++) {
  const s = performance.now();
  next = await model.nextGreedy([[next[0]]], cache);
  if (i >= warm) {
    host += recorded - s;
    total += performance.now() - s;
  }
}
console.log(`${shape} ${dtype} decode: ${(total / steps).toFixed(3)} ms a token (${((1000 * steps) / total).toFixed(0)} tok/s), recording ${(host / steps).toFixed(3)} ms of it`);

for (const T of [1, 2048]) {
  const ids = Array.from({ length: T }, (_, i) => (i * 7) % config.vocab_size);
  be.startProfile();
  await model.nextGreedy([ids], cache);
  const rows = [...(await be.stopProfile())].sort((a, b) => b[1].ms - a[1].ms);
  const ms = rows.reduce((a, [, v]) => a + v.ms, 0);
  console.log(`T = ${T}: ${ms.toFixed(3)} ms GPU in ${rows.reduce((a, [, v]) => a + v.count, 0)} dispatches`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(48)} ${String(v.count).padStart(3)}× ${((1000 * v.ms) / v.count).toFixed(1)} µs = ${v.ms.toFixed(3)} ms`);
}
process.exit(0);
