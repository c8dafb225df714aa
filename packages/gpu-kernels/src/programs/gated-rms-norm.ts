import source from "../shaders/gated-rms-norm.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, reductions } from "../wgsl.js";
import { type Context, header } from "./context.js";

/** Gated RMSNorm: one workgroup per (row, group of groupSize channels). */
export function gatedRmsNorm(ctx: Context, out: GpuTensor, y: GpuTensor, z: GpuTensor, w: GpuTensor, eps: number, groupSize: number): void {
  const e = w.shape[0];
  const rows = out.bytes / 4 / e;
  ctx.runner.dispatch({
    key: `gated-rms-norm/${ctx.features.subgroups}`,
    source: () => compose(header({}), reductions(ctx.features), source),
    params: new Params().u32(rows, e, z.shape[z.shape.length - 1], groupSize).f32(eps).bytes(),
    bindings: [out.parts[0], y.parts[0], z.parts[0], w.parts[0]],
    workgroups: rows * (e / groupSize),
  });
}
