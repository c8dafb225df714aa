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

/** A safetensors file of F32 tensors (name → shape and values), in the order given. */
export function safetensorsBytes(tensors: Record<string, { shape: readonly number[]; values: Float32Array }>): Uint8Array {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [at, at + t.values.byteLength] };
    at += t.values.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const t of Object.values(tensors)) (out.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), p), (p += t.values.byteLength));
  return out;
}
