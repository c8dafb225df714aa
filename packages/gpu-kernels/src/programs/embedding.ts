import source from "../shaders/embedding.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, weightAccess } from "../wgsl.js";
import { type Context, groupsOf, header, storedDType } from "./context.js";

/** out[r, :] = table[ids[r], :], one dispatch per part of the table. */
export function embedding(ctx: Context, out: GpuTensor, table: GpuTensor, ids: GpuTensor): void {
  const dim = table.shape[1];
  const rows = ids.shape.reduce((a, b) => a * b, 1);
  const dtype = storedDType(table);
  for (const part of table.parts) {
    ctx.runner.dispatch({
      key: `embedding/${dtype}`,
      source: () => compose(header({}), weightAccess("table", 3, dtype, false), source),
      params: new Params().u32(rows, dim, part.row0, part.rows).bytes(),
      bindings: [out.parts[0], ids.parts[0], part],
      workgroups: groupsOf(rows * dim),
    });
  }
}
