import type { DrawOptions } from "@mamba2/core";
import source from "../shaders/sample.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, reductions } from "../wgsl.js";
import { argmax } from "./argmax.js";
import { type Context, header } from "./context.js";

/** Each row's token drawn with u[r] (see shaders/sample.wgsl): one workgroup per row; temperature 0 is argmax. */
export function sample(ctx: Context, out: GpuTensor, x: GpuTensor, u: GpuTensor, o: DrawOptions): void {
  if (o.temperature === 0) return argmax(ctx, out, x);
  const rows = out.bytes / 4;
  const vocab = x.shape[x.shape.length - 1];
  const idBits = Math.max(1, Math.ceil(Math.log2(vocab)));
  ctx.runner.dispatch({
    key: `sample/${ctx.features.subgroups}`,
    source: () => compose(header({}), reductions(ctx.features), source),
    params: new Params().u32(rows, vocab).f32(o.temperature).u32(o.topK).f32(o.topP, o.minP).u32(4 * Math.ceil(idBits / 4) - 4).bytes(),
    bindings: [out.parts[0], x.parts[0], u.parts[0]],
    workgroups: rows,
  });
}
