/**
 * A float32 tensor in host memory, row-major, with its shape (`dims`, as transformers.js names it): what the
 * transformers-style API takes (`inputsEmbeds`) and returns (logits, hidden states, cache states).
 */
export interface HostTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export function isHostTensor(x: unknown): x is HostTensor {
  return typeof x === "object" && x !== null && (x as HostTensor).data instanceof Float32Array && Array.isArray((x as HostTensor).dims);
}
