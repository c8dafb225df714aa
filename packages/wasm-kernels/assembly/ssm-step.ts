// The recurrence, one position at a time (decode: T = 1). y [B, T, H, P], xbc [B, T, convDim] = x | B | C,
// zxbcdt [B, T, zStride] (dt = its last H columns), state [B, H, P, N], mask i32 [B, T] or 0. Per head h, group
// g = h / (H/G): S ← exp(dt·A[h])·S + dt·x ⊗ B[g];  y = S·C[g] + D[h]·x.  Masked positions: S unchanged, y = 0.
import { axpby, dotF32, stepSize } from "./common";

export function ssm_step(y: usize, xbc: usize, zxbcdt: usize, dtBias: usize, A: usize, D: usize, state: usize, mask: usize,
  batch: i32, steps: i32, heads: i32, headDim: i32, groups: i32, n: i32, convDim: i32, zStride: i32, dtMin: f32, dtMax: f32): void {
  const perGroup = heads / groups;
  const inner = heads * headDim;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const row = b * steps + t;
      const yRow = y + (<usize>row * <usize>inner << 2);
      if (mask && load<i32>(mask + (<usize>row << 2)) == 0) {
        memory.fill(yRow, 0, <usize>inner << 2);
        continue;
      }
      const xRow = xbc + (<usize>row * <usize>convDim << 2);
      for (let h = 0; h < heads; h++) {
        const g = h / perGroup;
        const dt = stepSize(load<f32>(zxbcdt + (<usize>(row * zStride + zStride - heads + h) << 2)), load<f32>(dtBias + (<usize>h << 2)), dtMin, dtMax);
        const decay = Mathf.exp(dt * load<f32>(A + (<usize>h << 2)));
        const d = load<f32>(D + (<usize>h << 2));
        const bVec = xRow + (<usize>(inner + g * n) << 2);
        const cVec = xRow + (<usize>(inner + groups * n + g * n) << 2);
        for (let p = 0; p < headDim; p++) {
          const xv = load<f32>(xRow + (<usize>(h * headDim + p) << 2));
          const s = state + (<usize>(((b * heads + h) * headDim + p) * n) << 2);
          axpby(s, decay, dt * xv, bVec, n);
          store<f32>(yRow + (<usize>(h * headDim + p) << 2), dotF32(s, cVec, n) + d * xv);
        }
      }
    }
  }
}
