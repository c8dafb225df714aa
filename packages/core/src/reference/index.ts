import { type Backend, DEFAULT_WEIGHT_DTYPES, type Kernels } from "../backend.js";
import { toFloat32 } from "../dtype.js";
import { fail } from "../errors.js";
import { isQuantized, QUANT_DTYPES, tensorBytes } from "../quant.js";
import { add } from "./ops/add.js";
import { argmax } from "./ops/argmax.js";
import { causalConv1d } from "./ops/causal-conv1d.js";
import { embedding } from "./ops/embedding.js";
import { gatedRmsNorm } from "./ops/gated-rms-norm.js";
import { matmul } from "./ops/matmul.js";
import { rmsNorm } from "./ops/rms-norm.js";
import { sample } from "./ops/sample.js";
import { ssdScan } from "./ops/ssd-scan.js";
import { ssmStep } from "./ops/ssm-step.js";
import { RefTensor } from "./tensor.js";

export { RefTensor };

const kernels: Kernels<RefTensor> = {
  embedding, rmsNorm, matmul, add, causalConv1d, ssdScan, ssmStep, gatedRmsNorm, argmax, sample,
};

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const WEIGHT_DTYPES = [...DEFAULT_WEIGHT_DTYPES, ...QUANT_DTYPES];

/**
 * The reference backend: plain TypeScript over typed arrays, float32 storage (f16/bf16 weights widened on
 * load; quantized matrices kept as blocks, dequantized a row at a time by the kernels) and float64 sums. Slow and exact: the oracle the WASM and WebGPU backends are checked against.
 */
export function createReferenceBackend(): Backend<RefTensor> {
  return {
    name: "reference",
    kernels,
    weightDTypes: WEIGHT_DTYPES,
    weight(shape, dtype, bytes) {
      if (isQuantized(dtype)) {
        const n = tensorBytes(shape, dtype);
        if (bytes.byteLength !== n) fail(`${dtype} weight of shape [${shape.join(", ")}] got ${bytes.byteLength} bytes, expected ${n}`);
        return new RefTensor([...shape], dtype, bytes.slice());
      }
      const data = toFloat32(bytes, dtype);
      if (data.length !== size(shape)) fail(`weight of shape [${shape.join(", ")}] got ${data.length} values`);
      return new RefTensor([...shape], "f32", data);
    },
    zeros(shape, dtype) {
      const n = size(shape);
      return new RefTensor([...shape], dtype, dtype === "i32" ? new Int32Array(n) : new Float32Array(n));
    },
    write(t, data) {
      if (data.length !== t.data.length) fail(`write: ${data.length} values into a tensor of ${t.data.length}`);
      t.data.set(data);
    },
    readF32: async (t) => Float32Array.from(t.data),
    readI32: async (t) => Int32Array.from(t.data),
    copy(dst, src) {
      dst.data.set(src.data);
    },
    free() {},
  };
}
