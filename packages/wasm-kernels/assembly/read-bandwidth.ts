// Σ of n f32 at p, read as fast as the machine allows: the memory-bandwidth probe of `mamba2 bench`.
// Thread `part` of `parts` reads its share (multiples of 16 floats).
import { hsum } from "./common";

export function read_bandwidth(p: usize, n: i32, part: i32, parts: i32): f32 {
  const share = ((n + 16 * parts - 1) / (16 * parts)) * 16;
  const start = min(n, part * share);
  p += <usize>start << 2;
  n = min(n, start + share) - start;
  let i = 0;
  let acc: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
    for (; i + 16 <= n; i += 16) {
      const o = p + (<usize>i << 2);
      a = f32x4.add(a, v128.load(o));
      b = f32x4.add(b, v128.load(o, 16));
      c = f32x4.add(c, v128.load(o, 32));
      d = f32x4.add(d, v128.load(o, 48));
    }
    acc = hsum(f32x4.add(f32x4.add(a, b), f32x4.add(c, d)));
  }
  for (; i < n; i++) acc += load<f32>(p + (<usize>i << 2));
  return acc;
}
