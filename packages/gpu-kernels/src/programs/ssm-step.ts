import type { SsmParams, SsmWeights } from "@mamba2/core";
import type { GpuTensor } from "../tensor.js";
import type { Context } from "./context.js";
import { recurrence } from "./ssd-scan.js";

/**
 * One step of the recurrence (any T, one position at a time): the scan's `recurrence` entry point with blocks of
 * one position for T = 1 (its state stays in registers between loading and storing, so the decode step reads and
 * writes each state entry once).
 */
export function ssmStep(
  ctx: Context, y: GpuTensor, xbc: GpuTensor, zxbcdt: GpuTensor, w: SsmWeights<GpuTensor>,
  state: GpuTensor, mask: GpuTensor | null, p: SsmParams,
): void {
  recurrence(ctx, y, xbc, zxbcdt, w, state, mask, p);
}
