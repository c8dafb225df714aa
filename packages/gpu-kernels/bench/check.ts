/**
 * Correctness on a real GPU (`node check.mjs`): 2-layer models of 130m's (f32) and 2.7b's (f16) widths, WebGPU
 * against the reference backend: last-position logits (relative to the largest), and generated tokens (sampled,
 * greedy, and greedy with rows ending on EOS mid-way, where steps recorded ahead are undone and redone).
 * SHAPES=130m takes only the first; CASES=BxT,… sets its batches and lengths (default 2x1,2x5,2x300).
 */
import { buildModel, createReferenceBackend, generateAll, shapeConfig, syntheticWeights, type WeightDType } from "@mamba2/core";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

const be = await createWebGpuBackend({ gpu: await nodeGpu() });
const shapes: [string, WeightDType, string][] = [["130m", "f32", process.env.CASES ?? "2x1,2x5,2x300"], ["2.7b", "f16", "2x1,1x130"]];
for (const [shape, dtype, cases] of process.env.SHAPES === "130m" ? shapes.slice(0, 1) : shapes) {
  const config = { ...shapeConfig(shape), num_hidden_layers: 2 };
  const gpu = await buildModel(config, syntheticWeights(config, dtype), { backend: be });
  const ref = await buildModel(config, syntheticWeights(config, dtype), { backend: createReferenceBackend() });
  for (const [B, T] of cases.split(",").map((c) => c.split("x").map(Number))) {
    const ids = [0, 1].slice(0, B).map((b) => Array.from({ length: T }, (_, i) => (i * [7919, 104729][b] + 13) % config.vocab_size));
    const a = (await gpu.forward(ids, { logits: "last" })).logits!;
    const r = (await ref.forward(ids, { logits: "last" })).logits!;
    let d = 0;
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - r[i]));
      m = Math.max(m, Math.abs(r[i]));
    }
    console.log(`${shape} ${dtype} B=${B} T=${T}: max |Δ| / max |ref| = ${(d / m).toExponential(2)}`);
  }
  const prompts = [[1, 2, 3], [4, 5, 6]];
  const same = async (what: string, o: Parameters<typeof generateAll>[2]) => {
    const g = await generateAll(gpu, prompts, o);
    console.log(`${shape} ${what} tokens equal: ${JSON.stringify(g) === JSON.stringify(await generateAll(ref, prompts, o))} ${JSON.stringify(g)}`);
    return g;
  };
  await same("sampled", { maxNewTokens: 8, temperature: 0.8, topK: 40, topP: 0.95, seed: [1, 2], eosTokenId: null });
  const greedy = await same("greedy", { maxNewTokens: 8, eosTokenId: null });
  await same("greedy with EOS", { maxNewTokens: 12, eosTokenId: [greedy[0][4], greedy[1][7]] });
}
process.exit(0);
