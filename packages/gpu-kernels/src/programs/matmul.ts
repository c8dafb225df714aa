import source from "../shaders/matmul.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, weightAccess } from "../wgsl.js";
import { type Context, groupsOf, header, storedDType } from "./context.js";

/** Rows up to which the weight-streaming gemv beats the tiled gemm (decode and small batches). */
const GEMV_MAX_ROWS = 8;
/** Outputs per gemv workgroup (32 invocations each). */
const RW = 8;

/** out = x·wᵀ + bias, one dispatch per part of w: gemv for few rows, the tiled gemm otherwise. */
export function matmul(ctx: Context, out: GpuTensor, x: GpuTensor, w: GpuTensor, bias: GpuTensor | null): void {
  const [outDim, inDim] = w.shape;
  const rows = x.bytes / 4 / inDim;
  const dtype = storedDType(w);
  const vec = inDim % 4 === 0 ? 4 : 1;
  const gemv = rows <= GEMV_MAX_ROWS;
  const rx = gemv ? rows : 1;
  const key = `matmul/${dtype}/${vec}/${rx}`;
  const code = () => compose(
    header({ VEC: vec, RX: rx, RW }),
    weightAccess("x", 2, "f32", vec === 4),
    weightAccess("w", 3, dtype, vec === 4),
    source,
  );
  for (const part of w.parts) {
    ctx.runner.dispatch({
      key,
      entry: gemv ? "gemv" : "gemm",
      source: code,
      params: new Params().u32(rows, outDim, inDim, part.row0, part.rows, bias ? 1 : 0).bytes(),
      bindings: [out.parts[0], x.parts[0], part, (bias ?? ctx.dummy).parts[0]],
      workgroups: gemv ? groupsOf(part.rows, RW) : groupsOf(rows, 64) * groupsOf(part.rows, 64),
    });
  }
}
