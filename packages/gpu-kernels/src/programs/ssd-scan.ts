import type { SsmParams, SsmWeights } from "@mamba2/core";
import source from "../shaders/ssd-scan.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params } from "../wgsl.js";
import { type Context, header } from "./context.js";

/**
 * The state space over T positions (see shaders/ssd-scan.wgsl): a workgroup per (b, h, block of channels),
 * positions in chunks staged in workgroup memory. The chunk length TB is the most that fits the device's
 * workgroup memory (up to 32; 1 for the decode step).
 */
export function ssdScan(
  ctx: Context, y: GpuTensor, xbc: GpuTensor, zxbcdt: GpuTensor, w: SsmWeights<GpuTensor>,
  state: GpuTensor, mask: GpuTensor | null, p: SsmParams,
): void {
  const [batch, steps, heads, headDim] = y.shape;
  const n = p.stateSize;
  const ns = n >= 128 ? 8 : n >= 64 ? 4 : n >= 32 ? 2 : 1; // invocations sharing one channel's N entries
  const pb = Math.min(headDim, Math.floor(256 / ns));
  const perStep = 4 * (2 * n + pb + pb * ns + 1);
  const tb = steps === 1 ? 1 : Math.max(1, Math.min(32, Math.floor(ctx.workgroupBytes / perStep)));
  const convDim = xbc.shape[xbc.shape.length - 1];
  const zStride = zxbcdt.shape[zxbcdt.shape.length - 1];
  ctx.runner.dispatch({
    key: `ssd-scan/${n}/${ns}/${pb}/${tb}`,
    source: () => compose(header({ N: n, NS: ns, NPT: Math.ceil(n / ns), PB: pb, TB: tb }), source),
    params: new Params()
      .u32(batch, steps, heads, headDim, p.groups, convDim, zStride, zStride - heads, mask ? 1 : 0)
      .f32(p.dtMin, p.dtMax)
      .bytes(),
    bindings: [y, state, xbc, zxbcdt, w.dtBias, w.A, w.D, mask ?? ctx.dummy].map((t) => t.parts[0]),
    workgroups: batch * heads * Math.ceil(headDim / pb),
  });
}
