import type { SsmParams, SsmWeights } from "@mamba2/core";
import type { GpuTensor } from "../tensor.js";
import type { Context } from "./context.js";
import { ssdScan } from "./ssd-scan.js";

/**
 * One step of the recurrence: the scan's program with chunks of one position (its state stays in registers
 * between loading and storing, so T = 1 reads and writes each state entry once).
 */
export function ssmStep(
  ctx: Context, y: GpuTensor, xbc: GpuTensor, zxbcdt: GpuTensor, w: SsmWeights<GpuTensor>,
  state: GpuTensor, mask: GpuTensor | null, p: SsmParams,
): void {
  ssdScan(ctx, y, xbc, zxbcdt, w, state, mask, p);
}
