// The recurrence, one position at a time (decode: T = 1). y [B, T, H, P], xbc [B, T, convDim] = x | B | C,
// zxbcdt [B, T, zStride] (dt = its last H columns), state [B, H, P, N], mask i32 [B, T] or 0. Per head h, group
// g = h / (H/G): S ← exp(dt·A[h])·S + dt·x ⊗ B[g];  y = S·C[g] + D[h]·x.  Masked positions: S unchanged, y = 0.
// Thread `part` of `parts` takes its share of the heads; each state row is updated and read out in one pass.
import { hsum, stepSize } from "./common";

export function ssm_step(y: usize, xbc: usize, zxbcdt: usize, dtBias: usize, A: usize, D: usize, state: usize, mask: usize,
  batch: i32, steps: i32, heads: i32, headDim: i32, groups: i32, n: i32, convDim: i32, zStride: i32, dtMin: f32, dtMax: f32, part: i32, parts: i32): void {
  const perGroup = heads / groups;
  const inner = heads * headDim;
  const share = (heads + parts - 1) / parts;
  const h0 = min(heads, part * share);
  const h1 = min(heads, h0 + share);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const row = b * steps + t;
      const yRow = y + (<usize>row * <usize>inner << 2);
      if (mask && load<i32>(mask + (<usize>row << 2)) == 0) {
        memory.fill(yRow + (<usize>(h0 * headDim) << 2), 0, <usize>((h1 - h0) * headDim) << 2);
        continue;
      }
      const xRow = xbc + (<usize>row * <usize>convDim << 2);
      for (let h = h0; h < h1; h++) {
        const g = h / perGroup;
        const dt = stepSize(load<f32>(zxbcdt + (<usize>(row * zStride + zStride - heads + h) << 2)), load<f32>(dtBias + (<usize>h << 2)), dtMin, dtMax);
        const decay = Mathf.exp(dt * load<f32>(A + (<usize>h << 2)));
        const d = load<f32>(D + (<usize>h << 2));
        const bVec = xRow + (<usize>(inner + g * n) << 2);
        const cVec = xRow + (<usize>(inner + groups * n + g * n) << 2);
        for (let p = 0; p < headDim; p++) {
          const xv = load<f32>(xRow + (<usize>(h * headDim + p) << 2));
          const s = state + (<usize>(((b * heads + h) * headDim + p) * n) << 2);
          store<f32>(yRow + (<usize>(h * headDim + p) << 2), update(s, decay, dt * xv, bVec, cVec, n) + d * xv);
        }
      }
    }
  }
}

/** s ← decay·s + u·B over a state row of n, returning Σ s·C (the new s). */
function update(s: usize, decay: f32, u: f32, bVec: usize, cVec: usize, n: i32): f32 {
  let acc: f32 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const dv = f32x4.splat(decay), uv = f32x4.splat(u);
    let a = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = f32x4.add(f32x4.mul(dv, v128.load(s + o)), f32x4.mul(uv, v128.load(bVec + o)));
      v128.store(s + o, v);
      a = f32x4.add(a, f32x4.mul(v, v128.load(cVec + o)));
    }
    acc = hsum(a);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = decay * load<f32>(s + o) + u * load<f32>(bVec + o);
    store<f32>(s + o, v);
    acc += v * load<f32>(cVec + o);
  }
  return acc;
}
