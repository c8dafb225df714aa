import source from "../shaders/rms-norm.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, reductions } from "../wgsl.js";
import { type Context, header } from "./context.js";

/** RMSNorm of each row: one workgroup per row. */
export function rmsNorm(ctx: Context, out: GpuTensor, x: GpuTensor, w: GpuTensor, eps: number): void {
  const dim = w.shape[0];
  const rows = out.bytes / 4 / dim;
  ctx.runner.dispatch({
    key: `rms-norm/${ctx.features.subgroups}`,
    source: () => compose(header({}), reductions(ctx.features), source),
    params: new Params().u32(rows, dim).f32(eps).bytes(),
    bindings: [out.parts[0], x.parts[0], w.parts[0]],
    workgroups: rows,
  });
}
