import type { GpuFeatures } from "../device.js";
import type { Runner } from "../runner.js";
import type { GpuPart, GpuTensor } from "../tensor.js";
import { GRID, type StoredDType } from "../wgsl.js";

/** What a program needs to encode its dispatches. */
export interface Context {
  readonly runner: Runner;
  readonly features: GpuFeatures;
  /** A 4-byte binding standing for an absent optional input (bias, mask). */
  readonly dummy: GpuTensor;
  readonly workgroupBytes: number;
  /** The most bytes one storage binding may span. */
  readonly bindingBytes: number;
  /**
   * A device buffer for a program's intermediate values, kept under `name` and reused by later calls (grown when
   * a call needs more): valid until the next call that asks for the same name.
   */
  scratch(name: string, bytes: number): GpuPart;
}

/** Prefix of every program's source: the grid helper and the variant's constants. */
export function header(consts: Record<string, number>): string {
  return [GRID, ...Object.entries(consts).map(([k, v]) => `const ${k} = ${v}u;`)].join("\n");
}

export function storedDType(t: GpuTensor): StoredDType {
  if (t.dtype === "i32") throw new Error("an i32 tensor is not a weight");
  return t.dtype;
}

export const groupsOf = (n: number, per = 256) => Math.ceil(n / per);
