import type { RefTensor } from "../tensor.js";

/** out = a + b, elementwise. */
export function add(out: RefTensor, a: RefTensor, b: RefTensor): void {
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i] + b.data[i];
}
