// The tiled gemms (prefill: more than 8 rows) against the reference backend, on shapes that take the 128 × 128
// gemm_large (rows and outputs not multiples of its tile, I % 4 != 0, every float dtype, a quantized one, a matrix
// split across bindings, the residual accumulated) and the 64 × 64 gemm beside it.
import { type Backend, createReferenceBackend, fromFloat32, Rng, type Tensor, type WeightDType } from "@mamba2/core";
import { KERNEL_TOLERANCE, nmse, relErr } from "@mamba2/core/testing";
import { describe, expect, it } from "vitest";
import { createWebGpuBackend, type WebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

function tensor<T extends Tensor>(b: Backend<T>, shape: number[], rng: Rng, scale = 1): T {
  const t = b.zeros(shape, "f32");
  b.write(t, Float32Array.from({ length: shape.reduce((a, c) => a * c, 1) }, () => (rng.next() * 2 - 1) * scale));
  return t;
}

function weight<T extends Tensor>(b: Backend<T>, shape: number[], dtype: WeightDType, rng: Rng): T {
  const n = shape.reduce((a, c) => a * c, 1);
  return b.weight(shape, dtype, fromFloat32(Float32Array.from({ length: n }, () => rng.next() * 2 - 1), dtype));
}

interface Case {
  name: string;
  run<T extends Tensor>(b: Backend<T>): T;
}

function matmulCase(rows: number, outDim: number, inDim: number, dtype: WeightDType, bias: boolean): Case {
  return {
    name: `matmul R=${rows} O=${outDim} I=${inDim} ${dtype}${bias ? " +bias" : ""}`,
    run(b) {
      const rng = new Rng(rows * 1000 + outDim);
      const x = tensor(b, [rows, inDim], rng, 2);
      const w = weight(b, [outDim, inDim], dtype, rng);
      const out = b.zeros([rows, outDim], "f32");
      b.kernels.matmul(out, x, w, bias ? weight(b, [outDim], "f32", rng) : null);
      return out;
    },
  };
}

/** out += gatedRmsNorm(y, z)·wᵀ + bias, with the reference's unfused ops. */
function gatedCase(rows: number, outDim: number, e: number, group: number, dtype: WeightDType): Case {
  return {
    name: `gatedNormMatmulAdd R=${rows} O=${outDim} E=${e} group=${group} ${dtype} +bias`,
    run(b) {
      const rng = new Rng(rows * 1000 + e);
      const y = tensor(b, [rows, e], rng, 2);
      const z = tensor(b, [rows, e], rng, 3);
      const nw = weight(b, [e], "f32", rng);
      const w = weight(b, [outDim, e], dtype, rng);
      const bias = weight(b, [outDim], "f32", rng);
      const out = tensor(b, [rows, outDim], rng); // the residual
      if (b.kernels.gatedNormMatmulAdd) b.kernels.gatedNormMatmulAdd(out, y, z, nw, 1e-5, group, w, bias);
      else {
        const g = b.zeros([rows, e], "f32");
        const mixed = b.zeros([rows, outDim], "f32");
        b.kernels.gatedRmsNorm(g, y, z, nw, 1e-5, group);
        b.kernels.matmul(mixed, g, w, bias);
        b.kernels.add(out, out, mixed);
      }
      return out;
    },
  };
}

const CASES: Case[] = [
  matmulCase(130, 150, 68, "f32", true),
  matmulCase(257, 129, 96, "f16", false),
  matmulCase(128, 128, 64, "bf16", true),
  matmulCase(200, 136, 30, "f32", false), // I % 4 != 0: scalar loads
  matmulCase(136, 160, 64, "q8_0", true),
  matmulCase(129, 130, 256, "q4_k", false),
  matmulCase(140, 100, 40, "f16", true), // outputs below the large tile: the 64 × 64 gemm
  matmulCase(140, 280, 64, "f32", true), // split bindings: parts of 160 rows (gemm_large) and 120 (gemm)
  gatedCase(150, 140, 64, 32, "f32"),
  gatedCase(131, 129, 64, 64, "q4_0"),
];

describe("webgpu tiled gemm against the reference", () => {
  const reference = createReferenceBackend();
  for (const [label, partBytes] of [["whole", undefined], ["split bindings", 160 * 64 * 4]] as const) {
    let backend: WebGpuBackend;
    it.for(CASES)(`${label}: $name`, async (c) => {
      backend ??= await createWebGpuBackend({ gpu: await nodeGpu(), weightPartBytes: partBytes });
      const want = await reference.readF32(c.run(reference));
      const got = await backend.readF32(c.run(backend));
      expect(relErr(got, want), "max |Δ| / scale").toBeLessThan(KERNEL_TOLERANCE.rel);
      expect(nmse(got, want), "NMSE").toBeLessThan(KERNEL_TOLERANCE.nmse);
    });
  }
});
