import source from "../shaders/argmax.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, reductions } from "../wgsl.js";
import { type Context, header } from "./context.js";

/** The first index of each row's largest value: one workgroup per row. */
export function argmax(ctx: Context, out: GpuTensor, x: GpuTensor): void {
  const rows = out.bytes / 4;
  ctx.runner.dispatch({
    key: `argmax/${ctx.features.subgroups}`,
    source: () => compose(header({}), reductions(ctx.features), source),
    params: new Params().u32(rows, x.shape[x.shape.length - 1]).bytes(),
    bindings: [out.parts[0], x.parts[0]],
    workgroups: rows,
  });
}
