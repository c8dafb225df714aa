import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Backend, createReferenceBackend, type RefTensor } from "../src/index.js";
import { type Golden, readGoldens } from "../src/testing/compare.js";

export { maxAbsDiff, relErr } from "../src/testing/compare.js";
export type { Golden };

export const fixtureDir = (name: string) => fileURLToPath(new URL(`../../../fixtures/${name}/`, import.meta.url));

export const goldensOf = (dir: string) => readGoldens(readFileSync(`${dir}golden.safetensors`));

export const ints = (g: Golden): number[] => Array.from(g.values);

/**
 * The reference backend seen through the Backend interface only, counting the bytes of live tensors (allocated,
 * not yet freed) and their peak, and calling `onEmbedding` on each embedding kernel call (one per model call).
 */
export function countingBackend(onEmbedding: () => void = () => {}) {
  const inner = createReferenceBackend();
  const sizes = new Map<RefTensor, number>();
  const counter = { live: 0, peak: 0 };
  const track = (t: RefTensor) => {
    sizes.set(t, t.data.byteLength);
    counter.live += t.data.byteLength;
    counter.peak = Math.max(counter.peak, counter.live);
    return t;
  };
  const backend: Backend<RefTensor> = {
    ...inner,
    kernels: { ...inner.kernels, embedding: (...a) => (onEmbedding(), inner.kernels.embedding(...a)) },
    weight: (shape, dtype, bytes) => track(inner.weight(shape, dtype, bytes)),
    zeros: (shape, dtype) => track(inner.zeros(shape, dtype)),
    free(t) {
      counter.live -= sizes.get(t) ?? 0;
      sizes.delete(t);
      inner.free(t);
    },
  };
  return { backend, counter };
}
