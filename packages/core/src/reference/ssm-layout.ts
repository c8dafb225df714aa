import type { SsmParams } from "../backend.js";
import type { RefTensor } from "./tensor.js";

/** Where the SSM kernels find x, B, C and dt of a row (see Kernels for the layouts). */
export function ssmLayout(y: RefTensor, xbc: RefTensor, zxbcdt: RefTensor, p: SsmParams) {
  const [batch, steps, heads, headDim] = y.shape;
  const inner = heads * headDim;
  const convDim = xbc.shape[xbc.shape.length - 1];
  const zStride = zxbcdt.shape[zxbcdt.shape.length - 1];
  const n = p.stateSize;
  return {
    batch, steps, heads, headDim, n, convDim, zStride,
    headsPerGroup: heads / p.groups,
    /** offset of B of group g in an xbc row; C follows all B groups */
    bOffset: inner,
    cOffset: inner + p.groups * n,
    dtOffset: zStride - heads,
  };
}
