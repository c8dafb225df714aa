import { dequantize, isQuantized, QUANT_BLOCKS, type QuantDType } from "../../quant.js";
import type { RefTensor } from "../tensor.js";

/**
 * out[r, o] = Σ_i x[r, i]·w[o, i] + bias[o], float64 sums. out [R, O], x [R, I], w [O, I], bias [O] or null.
 * Tiles of 2 rows × 4 outputs share their loads; the edges fall back to one dot product each. A quantized w is
 * dequantized one row at a time.
 */
export function matmul(out: RefTensor, x: RefTensor, w: RefTensor, bias: RefTensor | null): void {
  if (isQuantized(w.dtype)) return quantizedMatmul(out, x, w, w.dtype, bias);
  const [outDim, inDim] = w.shape;
  const rows = x.data.length / inDim;
  const xs = x.data;
  const ws = w.data;
  const ys = out.data;
  const dot = (r: number, o: number) => {
    let acc = 0;
    for (let i = 0, xb = r * inDim, wb = o * inDim; i < inDim; i++) acc += xs[xb + i] * ws[wb + i];
    return acc;
  };
  const b = (o: number) => (bias ? bias.data[o] : 0);
  const r2 = rows - (rows % 2);
  const o4 = outDim - (outDim % 4);
  // Outputs outer, rows inner: 4 rows of w stay in cache while every x row streams past.
  for (let o = 0; o < o4; o += 4) {
    const w0 = o * inDim;
    const w1 = w0 + inDim;
    const w2 = w1 + inDim;
    const w3 = w2 + inDim;
    const b0 = b(o), b1 = b(o + 1), b2 = b(o + 2), b3 = b(o + 3);
    for (let r = 0; r < r2; r += 2) {
      const x0 = r * inDim;
      const x1 = x0 + inDim;
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      for (let i = 0; i < inDim; i++) {
        const u = xs[x0 + i];
        const v = xs[x1 + i];
        const p = ws[w0 + i], q = ws[w1 + i], s = ws[w2 + i], t = ws[w3 + i];
        a00 += u * p; a01 += u * q; a02 += u * s; a03 += u * t;
        a10 += v * p; a11 += v * q; a12 += v * s; a13 += v * t;
      }
      const y0 = r * outDim + o;
      const y1 = y0 + outDim;
      ys[y0] = a00 + b0; ys[y0 + 1] = a01 + b1; ys[y0 + 2] = a02 + b2; ys[y0 + 3] = a03 + b3;
      ys[y1] = a10 + b0; ys[y1 + 1] = a11 + b1; ys[y1 + 2] = a12 + b2; ys[y1 + 3] = a13 + b3;
    }
  }
  for (let r = 0; r < rows; r++) {
    const edge = r < r2 ? o4 : 0; // the odd last row was not tiled
    for (let o = edge; o < outDim; o++) ys[r * outDim + o] = dot(r, o) + b(o);
  }
}

function quantizedMatmul(out: RefTensor, x: RefTensor, w: RefTensor, dtype: QuantDType, bias: RefTensor | null): void {
  const [outDim, inDim] = w.shape;
  const rows = x.data.length / inDim;
  const row = new Float32Array(inDim);
  const blocksPerRow = inDim / QUANT_BLOCKS[dtype].values;
  for (let o = 0; o < outDim; o++) {
    dequantize(w.data as Uint8Array, dtype, o * blocksPerRow, inDim, row);
    const b = bias ? bias.data[o] : 0;
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let i = 0, xb = r * inDim; i < inDim; i++) acc += x.data[xb + i] * row[i];
      out.data[r * outDim + o] = acc + b;
    }
  }
}
