import type { SsmParams, SsmWeights } from "../../backend.js";
import { stepSize } from "../math.js";
import { ssmLayout } from "../ssm-layout.js";
import type { RefTensor } from "../tensor.js";

/**
 * The recurrence, one position at a time (decode uses T = 1). y [B, T, H, P], xbc [B, T, convDim],
 * zxbcdt [B, T, S], state [B, H, P, N]. Per head h (group g = h / (H/G)):
 *   S ← exp(dt·A[h])·S + dt·x ⊗ B[g];  y = S·C[g] + D[h]·x.  Masked positions leave S alone, y = 0.
 */
export function ssmStep(
  y: RefTensor, xbc: RefTensor, zxbcdt: RefTensor, w: SsmWeights<RefTensor>,
  state: RefTensor, mask: RefTensor | null, p: SsmParams,
): void {
  const L = ssmLayout(y, xbc, zxbcdt, p);
  const { headDim, n } = L;
  const s = state.data;
  for (let b = 0; b < L.batch; b++) {
    for (let t = 0; t < L.steps; t++) {
      const row = b * L.steps + t;
      const yBase = row * L.heads * headDim;
      if (mask && mask.data[row] === 0) {
        y.data.fill(0, yBase, yBase + L.heads * headDim);
        continue;
      }
      const xRow = row * L.convDim;
      for (let h = 0; h < L.heads; h++) {
        const g = Math.floor(h / L.headsPerGroup);
        const dt = stepSize(zxbcdt.data[row * L.zStride + L.dtOffset + h], w.dtBias.data[h], p.dtMin, p.dtMax);
        const decay = Math.exp(dt * w.A.data[h]);
        const bBase = xRow + L.bOffset + g * n;
        const cBase = xRow + L.cOffset + g * n;
        for (let q = 0; q < headDim; q++) {
          const xv = xbc.data[xRow + h * headDim + q];
          const sBase = ((b * L.heads + h) * headDim + q) * n;
          let acc = 0;
          for (let k = 0; k < n; k++) {
            const v = decay * s[sBase + k] + dt * xv * xbc.data[bBase + k];
            s[sBase + k] = v;
            acc += v * xbc.data[cBase + k];
          }
          y.data[yBase + h * headDim + q] = acc + w.D.data[h] * xv;
        }
      }
    }
  }
}
