import source from "../shaders/add.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params } from "../wgsl.js";
import { type Context, groupsOf, header } from "./context.js";

/** out = a + b (out may be a). */
export function add(ctx: Context, out: GpuTensor, a: GpuTensor, b: GpuTensor): void {
  const n = out.shape.reduce((x, y) => x * y, 1);
  const inPlace = out.parts[0].buffer === a.parts[0].buffer;
  ctx.runner.dispatch({
    key: "add",
    entry: inPlace ? "accumulate" : "main",
    source: () => compose(header({}), source),
    params: new Params().u32(n).bytes(),
    bindings: inPlace ? [out.parts[0], b.parts[0]] : [out.parts[0], b.parts[0], a.parts[0]],
    workgroups: groupsOf(n),
  });
}
