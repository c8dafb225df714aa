// g = y ⊙ silu(z); out = w ⊙ g / sqrt(mean(g²) + eps), the mean over each group of `groupSize` channels.
// out, y [R, E] f32, z [R, zStride] f32 (its first E columns), w [E] f32. g is formed in out, then scaled in place.
// Thread `part` of `parts` takes an equal share of the rows.
import { silu, silu4 } from "./common";
import { scaleByWeight, sumSquares } from "./rms-norm";

export function gated_rms_norm(out: usize, y: usize, z: usize, w: usize, rows: i32, e: i32, zStride: i32, eps: f32, groupSize: i32, part: i32, parts: i32): void {
  const share = (rows + parts - 1) / parts;
  const r1 = min(rows, (part + 1) * share);
  for (let r = min(rows, part * share); r < r1; r++) {
    const o = out + <usize>r * <usize>e * 4;
    const yr = y + <usize>r * <usize>e * 4;
    const zr = z + <usize>r * <usize>zStride * 4;
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 4 <= e; i += 4) {
        const k = <usize>i << 2;
        v128.store(o + k, f32x4.mul(v128.load(yr + k), silu4(v128.load(zr + k))));
      }
    }
    for (; i < e; i++) {
      const k = <usize>i << 2;
      store<f32>(o + k, load<f32>(yr + k) * silu(load<f32>(zr + k)));
    }
    for (let start = 0; start < e; start += groupSize) {
      const g = o + (<usize>start << 2);
      const scale: f32 = 1 / Mathf.sqrt(sumSquares(g, groupSize) / <f32>groupSize + eps);
      scaleByWeight(g, g, w + (<usize>start << 2), groupSize, scale);
    }
  }
}
