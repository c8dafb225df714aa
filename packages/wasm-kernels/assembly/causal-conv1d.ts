// Causal depthwise conv with state over columns [offset, offset + C) of x, then the activation.
// out [B, T, C] f32, x [B, T, stride] f32, w [C, K] f32 | f16 | bf16, bias [C] f32 or 0, state [B, C, K] f32 (the last
// K present inputs, oldest first; updated), mask i32 [B, T] or 0. With v(τ) the τ-th present input of the row
// (v(τ < 0) = state[K + τ]): out_t = act(bias + Σ_k w[k]·v(t − K + 1 + k)); a masked position outputs 0.
// Decode with K = 4 (one present position a row): a channel's state is one vector, shifted by one shuffle; prefill
// with K = 4 (no mask): 4 channels a vector, their windows sliding down the rows (dense4).
import { activate, activate4, activateRow, fma, loadW, loadW4 } from "./common";

export function causal_conv1d(out: usize, x: usize, offset: i32, stride: i32, w: usize, wType: i32, bias: usize, state: usize, mask: usize,
  batch: i32, steps: i32, channels: i32, k: i32, act: i32, part: i32, parts: i32): void {
  const share = (channels + parts - 1) / parts; // thread `part` of `parts` takes its share of the channels
  const c0 = min(channels, part * share);
  const c1 = min(channels, c0 + share);
  const wBytes: usize = wType == 0 ? 4 : 2;
  for (let b = 0; b < batch; b++) {
    const m = mask ? mask + (<usize>(b * steps) << 2) : 0;
    const xb = x + (<usize>(b * steps * stride + offset) << 2);
    const ob = out + (<usize>(b * steps * channels) << 2);
    const sb = state + (<usize>(b * channels) * <usize>k << 2);
    if (ASC_FEATURE_SIMD && steps == 1 && k == 4 && (!m || load<i32>(m) != 0)) {
      const c4 = c0 + ((c1 - c0) & ~3);
      step4(ob, xb, w, wType, bias, sb, act, c0, c4);
      if (c4 < c1) dense(ob, xb, stride, w, wType, bias, sb, steps, channels, k, act, c4, c1);
      continue;
    }
    if (!m) {
      let cv = c0;
      if (ASC_FEATURE_SIMD && k == 4) {
        cv = c0 + ((c1 - c0) & ~3);
        dense4(ob, xb, stride, w, wType, bias, sb, steps, channels, act, c0, cv);
      }
      // channels in blocks of 16 (a cache line of each row), every position of the block before the next
      for (let cb = cv; cb < c1; cb += 16) dense(ob, xb, stride, w, wType, bias, sb, steps, channels, k, act, cb, min(cb + 16, c1));
      continue;
    }
    for (let c = c0; c < c1; c++) {
      const bc: f32 = bias ? load<f32>(bias + (<usize>c << 2)) : 0;
      masked(ob + (<usize>c << 2), xb + (<usize>c << 2), stride, w + <usize>c * <usize>k * wBytes, wType, bc, sb + (<usize>c * <usize>k << 2), m, steps, channels, k, act);
    }
  }
}

/** One present position, K = 4, channels c0 … c1 − 1 (a multiple of 4 of them): 4 channels a pass. */
function step4(ob: usize, xb: usize, w: usize, wType: i32, bias: usize, sb: usize, act: i32, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c += 4) {
    const xv = v128.load(xb + (<usize>c << 2));
    const s = sb + (<usize>c << 4);
    const s0 = i32x4.shuffle(v128.load(s), xv, 1, 2, 3, 4);
    const s1 = i32x4.shuffle(v128.load(s, 16), xv, 1, 2, 3, 5);
    const s2 = i32x4.shuffle(v128.load(s, 32), xv, 1, 2, 3, 6);
    const s3 = i32x4.shuffle(v128.load(s, 48), xv, 1, 2, 3, 7);
    v128.store(s, s0); v128.store(s, s1, 16); v128.store(s, s2, 32); v128.store(s, s3, 48);
    const p0 = f32x4.mul(s0, loadW4(w, c << 2, wType)), p1 = f32x4.mul(s1, loadW4(w, (c + 1) << 2, wType));
    const p2 = f32x4.mul(s2, loadW4(w, (c + 2) << 2, wType)), p3 = f32x4.mul(s3, loadW4(w, (c + 3) << 2, wType));
    // the four horizontal sums as one vector
    const a = f32x4.add(i32x4.shuffle(p0, p1, 0, 4, 2, 6), i32x4.shuffle(p0, p1, 1, 5, 3, 7));
    const b = f32x4.add(i32x4.shuffle(p2, p3, 0, 4, 2, 6), i32x4.shuffle(p2, p3, 1, 5, 3, 7));
    let y = f32x4.add(i32x4.shuffle(a, b, 0, 1, 4, 5), i32x4.shuffle(a, b, 2, 3, 6, 7));
    if (bias) y = f32x4.add(y, v128.load(bias + (<usize>c << 2)));
    v128.store(ob + (<usize>c << 2), activate4(y, act));
  }
}

/** Floats at p, p + stride, p + 2·stride, p + 3·stride as lanes 0 … 3. */
@inline function gather4(p: usize, stride: usize): v128 {
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + stride));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * stride));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * stride));
}

/** Lanes 0 … 3 of v to p, p + stride, p + 2·stride, p + 3·stride. */
@inline function scatter4(p: usize, stride: usize, v: v128): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  store<f32>(p + stride, f32x4.extract_lane(v, 1));
  store<f32>(p + 2 * stride, f32x4.extract_lane(v, 2));
  store<f32>(p + 3 * stride, f32x4.extract_lane(v, 3));
}

/** Tap j of channels c … c + 3 (w [C, 4]) as lanes 0 … 3. */
@inline function taps(w: usize, c: i32, j: i32, wType: i32): v128 {
  let v = f32x4.splat(loadW(w, (c << 2) + j, wType));
  v = f32x4.replace_lane(v, 1, loadW(w, ((c + 1) << 2) + j, wType));
  v = f32x4.replace_lane(v, 2, loadW(w, ((c + 2) << 2) + j, wType));
  return f32x4.replace_lane(v, 3, loadW(w, ((c + 3) << 2) + j, wType));
}

/**
 * `dense` for K = 4, channels c0 … c1 − 1 (a multiple of 4 of them) 4 a vector (lane q: channel c + q): the
 * taps and the window v(t − 3) … v(t) of the 4 channels are 4 vectors each; the window slides one row a position.
 */
function dense4(ob: usize, xb: usize, stride: i32, w: usize, wType: i32, bias: usize, sb: usize, steps: i32, channels: i32, act: i32, c0: i32, c1: i32): void {
  const rowX = <usize>stride << 2;
  const rowO = <usize>channels << 2;
  for (let c = c0; c < c1; c += 4) {
    const w0 = taps(w, c, 0, wType), w1 = taps(w, c, 1, wType), w2 = taps(w, c, 2, wType), w3 = taps(w, c, 3, wType);
    const b4 = bias ? v128.load(bias + (<usize>c << 2)) : f32x4.splat(0);
    const s = sb + (<usize>c << 4); // the 4 channels' states, [4, K]
    // the new state's oldest input v(T − 4): x's row T − 4, or the old state's entry T
    const oldest = steps >= 4 ? v128.load(xb + <usize>(steps - 4) * rowX + (<usize>c << 2)) : gather4(s + (<usize>steps << 2), 16);
    let v0 = gather4(s + 4, 16), v1 = gather4(s + 8, 16), v2 = gather4(s + 12, 16); // v(−3), v(−2), v(−1)
    let x = xb + (<usize>c << 2), o = ob + (<usize>c << 2);
    for (let t = 0; t < steps; t++) {
      const v3 = v128.load(x);
      v128.store(o, activate4(fma(fma(fma(fma(b4, w0, v0), w1, v1), w2, v2), w3, v3), act));
      v0 = v1; v1 = v2; v2 = v3;
      x += rowX; o += rowO;
    }
    scatter4(s, 16, oldest);
    scatter4(s + 4, 16, v0);
    scatter4(s + 8, 16, v1);
    scatter4(s + 12, 16, v2);
  }
}

/** Every position present: v(τ) is x at row τ, read in place; the state is rebuilt from the last K inputs. */
function dense(ob: usize, xb: usize, stride: i32, w: usize, wType: i32, bias: usize, sb: usize, steps: i32, channels: i32, k: i32, act: i32, c0: i32, c1: i32): void {
  const rowX = <usize>stride << 2;
  const wBytes: usize = wType == 0 ? 4 : 2;
  for (let t = 0; t < steps; t++) {
    for (let c = c0; c < c1; c++) {
      const wr = w + <usize>c * <usize>k * wBytes;
      const s = sb + (<usize>c * <usize>k << 2);
      let acc: f32 = bias ? load<f32>(bias + (<usize>c << 2)) : 0;
      for (let j = 0; j < k; j++) {
        const tau = t - k + 1 + j;
        const v = tau >= 0 ? load<f32>(xb + <usize>tau * rowX + (<usize>c << 2)) : load<f32>(s + (<usize>(k + tau) << 2));
        acc += loadW(wr, j, wType) * v;
      }
      store<f32>(ob + (<usize>(t * channels + c) << 2), acc);
    }
    activateRow(ob + (<usize>(t * channels + c0) << 2), c1 - c0, act);
  }
  for (let c = c0; c < c1; c++) {
    const s = sb + (<usize>c * <usize>k << 2);
    if (steps < k) memory.copy(s, s + (<usize>steps << 2), <usize>(k - steps) << 2);
    const keep = min(steps, k);
    for (let j = 0; j < keep; j++) store<f32>(s + (<usize>(k - keep + j) << 2), load<f32>(xb + <usize>(steps - keep + j) * rowX + (<usize>c << 2)));
  }
}

/** Some positions masked: the state is a sliding window that present inputs are pushed into. */
function masked(oc: usize, xc: usize, stride: i32, wr: usize, wType: i32, bc: f32, s: usize, m: usize, steps: i32, channels: i32, k: i32, act: i32): void {
  for (let t = 0; t < steps; t++) {
    const dst = oc + (<usize>(t * channels) << 2);
    if (load<i32>(m + (<usize>t << 2)) == 0) {
      store<f32>(dst, 0);
      continue;
    }
    memory.copy(s, s + 4, <usize>(k - 1) << 2);
    store<f32>(s + (<usize>(k - 1) << 2), load<f32>(xc + (<usize>(t * stride) << 2)));
    let acc = bc;
    for (let j = 0; j < k; j++) acc += loadW(wr, j, wType) * load<f32>(s + (<usize>j << 2));
    store<f32>(dst, activate(acc, act));
  }
}
