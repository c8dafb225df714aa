/**
 * The device-sampling suite: a backend's `sample` kernel against the reference's (drawToken in float64) on
 * seeded logits — spread, full of ties, and a real vocabulary's width — for top-k / top-p / min-p settings and
 * draws across [0, 1), including both ends. The token ids must be equal (a float32 device differs from the
 * float64 reference only where a draw falls within float32 rounding of a boundary).
 */
import { describe, expect, it } from "vitest";
import type { Backend, Tensor } from "../backend.js";
import { createReferenceBackend } from "../reference/index.js";
import { type DrawOptions, Rng } from "../sampling.js";
import { f32 } from "./conformance.js";

const SETTINGS: DrawOptions[] = [
  { temperature: 1, topK: 0, topP: 1, minP: 0 },
  { temperature: 0.7, topK: 40, topP: 1, minP: 0 },
  { temperature: 1.2, topK: 0, topP: 0.9, minP: 0 },
  { temperature: 0.8, topK: 50, topP: 0.95, minP: 0.05 },
  { temperature: 1, topK: 1, topP: 1, minP: 0 },
  { temperature: 2, topK: 0, topP: 1, minP: 0.2 },
];

interface Logits {
  name: string;
  rows: number;
  vocab: number;
  value: (rng: Rng) => number;
}

const LOGITS: Logits[] = [
  { name: "spread", rows: 3, vocab: 517, value: (r) => (r.next() * 2 - 1) * 6 },
  { name: "ties", rows: 2, vocab: 300, value: (r) => Math.round(r.next() * 8) / 2 },
  { name: "vocabulary 50288", rows: 1, vocab: 50288, value: (r) => (r.next() + r.next() + r.next() - 1.5) * 5 },
];

/**
 * Draws per case: 0, the largest float32 below 1 where a cut leaves a tail of real mass (without one, f32 sums
 * cannot place a draw within ~1e-7 of the end among the far tail's tiny weights), and seeded ones between.
 */
function draws(rows: number, rng: Rng, o: DrawOptions): Float32Array[] {
  const high = o.topK > 0 || o.topP < 1 ? 1 - 2 ** -24 : 0.999;
  const ends = [new Float32Array(rows), new Float32Array(rows).fill(high)];
  return [...ends, ...Array.from({ length: 6 }, () => Float32Array.from({ length: rows }, () => rng.next()))];
}

async function run<T extends Tensor>(b: Backend<T>, l: Logits, x: Float32Array, u: Float32Array, o: DrawOptions): Promise<number[]> {
  const out = b.zeros([l.rows], "i32");
  const xt = f32(b, [l.rows, l.vocab], x);
  const ut = f32(b, [l.rows], u);
  b.kernels.sample!(out, xt, ut, o);
  const ids = Array.from(await b.readI32(out));
  for (const t of [out, xt, ut]) b.free(t);
  return ids;
}

/** Registers the suite with vitest for a backend that has `kernels.sample`. */
export function samplingSuite<T extends Tensor>(name: string, makeBackend: () => Backend<T> | Promise<Backend<T>>): void {
  const cases = LOGITS.flatMap((l) => SETTINGS.map((o) => ({ l, o, name: `${l.name}: T=${o.temperature} top-k=${o.topK} top-p=${o.topP} min-p=${o.minP}` })));
  describe(`${name} sampling on the device against the reference`, () => {
    const reference = createReferenceBackend();
    let backend: Backend<T>;
    it.for(cases)("$name", async ({ l, o }) => {
      backend ??= await makeBackend();
      const rng = new Rng(l.vocab);
      const x = Float32Array.from({ length: l.rows * l.vocab }, () => l.value(rng));
      for (const u of draws(l.rows, rng, o)) {
        expect(await run(backend, l, x, u, o), `draws ${Array.from(u).join(", ")}`).toEqual(await run(reference, l, x, u, o));
      }
    });
  });
}
