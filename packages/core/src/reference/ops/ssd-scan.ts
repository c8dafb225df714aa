import type { SsmParams, SsmWeights } from "../../backend.js";
import { stepSize } from "../math.js";
import { ssmLayout } from "../ssm-layout.js";
import type { RefTensor } from "../tensor.js";

/**
 * Chunked SSD prefill (the same function as ssmStep's recurrence). Shapes as ssmStep. For each chunk of Q
 * positions, per head with cumulative log-decay c_i = Σ_{k≤i} dt_k·A (masked positions: dt = 0):
 *   y_i = exp(c_i)·S_in·C_i + Σ_{j≤i} (C_i·B_j)·exp(c_i − c_j)·dt_j·x_j + D·x_i
 *   S_out = exp(c_last)·S_in + Σ_j exp(c_last − c_j)·dt_j·x_j ⊗ B_j
 * float64 throughout; the state is stored back as float32 at the end.
 */
export function ssdScan(
  y: RefTensor, xbc: RefTensor, zxbcdt: RefTensor, w: SsmWeights<RefTensor>,
  state: RefTensor, mask: RefTensor | null, p: SsmParams,
): void {
  const L = ssmLayout(y, xbc, zxbcdt, p);
  const { headDim, n, steps, heads } = L;
  const q = p.chunkSize;
  const xs = xbc.data;
  const cb = new Float64Array(p.groups * q * q); // C_i·B_j per group, within the chunk
  const dt = new Float64Array(q);
  const cum = new Float64Array(q);
  const coef = new Float64Array(q); // (C_i·B_j)·exp(c_i − c_j)·dt_j for the current i
  const headSize = headDim * n;
  const s = new Float64Array(heads * headSize); // the states of one sequence
  for (let b = 0; b < L.batch; b++) {
    const sBase = b * heads * headSize;
    for (let i = 0; i < s.length; i++) s[i] = state.data[sBase + i];
    for (let start = 0; start < steps; start += q) {
      const len = Math.min(q, steps - start);
      const first = b * steps + start;
      for (let g = 0; g < p.groups; g++) chunkCB(cb, g, xs, first, len, L, q);
      for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / L.headsPerGroup);
        const sh = h * headSize;
        let c = 0;
        for (let i = 0; i < len; i++) {
          const row = first + i;
          const present = !mask || mask.data[row] !== 0;
          dt[i] = present ? stepSize(zxbcdt.data[row * L.zStride + L.dtOffset + h], w.dtBias.data[h], p.dtMin, p.dtMax) : 0;
          c += dt[i] * w.A.data[h];
          cum[i] = c;
        }
        for (let i = 0; i < len; i++) {
          const rowI = first + i;
          const cBase = rowI * L.convDim + L.cOffset + g * n;
          const yBase = (rowI * heads + h) * headDim;
          const inDecay = Math.exp(cum[i]);
          for (let j = 0; j <= i; j++) coef[j] = cb[(g * q + i) * q + j] * Math.exp(cum[i] - cum[j]) * dt[j];
          for (let pp = 0; pp < headDim; pp++) {
            let acc = 0;
            for (let k = 0; k < n; k++) acc += s[sh + pp * n + k] * xs[cBase + k];
            acc *= inDecay;
            for (let j = 0; j <= i; j++) acc += coef[j] * xs[(first + j) * L.convDim + h * headDim + pp];
            const present = !mask || mask.data[rowI] !== 0;
            y.data[yBase + pp] = present ? acc + w.D.data[h] * xs[rowI * L.convDim + h * headDim + pp] : 0;
          }
        }
        const last = cum[len - 1];
        const total = Math.exp(last);
        for (let i = sh; i < sh + headSize; i++) s[i] *= total;
        for (let j = 0; j < len; j++) {
          const scale = Math.exp(last - cum[j]) * dt[j];
          if (scale === 0) continue;
          const rowJ = first + j;
          const bBase = rowJ * L.convDim + L.bOffset + g * n;
          for (let pp = 0; pp < headDim; pp++) {
            const xv = scale * xs[rowJ * L.convDim + h * headDim + pp];
            for (let k = 0; k < n; k++) s[sh + pp * n + k] += xv * xs[bBase + k];
          }
        }
      }
    }
    for (let i = 0; i < s.length; i++) state.data[sBase + i] = s[i];
  }
}

/** cb[g][i][j] = C_i·B_j of group g for the chunk's rows firstRow..firstRow+len−1 (j ≤ i). */
function chunkCB(cb: Float64Array, g: number, xs: RefTensor["data"], firstRow: number, len: number, L: ReturnType<typeof ssmLayout>, q: number): void {
  for (let i = 0; i < len; i++) {
    const cBase = (firstRow + i) * L.convDim + L.cOffset + g * L.n;
    for (let j = 0; j <= i; j++) {
      const bBase = (firstRow + j) * L.convDim + L.bOffset + g * L.n;
      let acc = 0;
      for (let k = 0; k < L.n; k++) acc += xs[cBase + k] * xs[bBase + k];
      cb[(g * q + i) * q + j] = acc;
    }
  }
}
