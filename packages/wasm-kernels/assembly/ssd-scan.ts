// Chunked SSD prefill, the same function as ssm_step's recurrence. Shapes as ssm_step; scratch holds
// scratchBytes(G, Q) per thread. Per chunk of Q positions and head, with c_i = Σ_{k≤i} dt_k·A (masked positions: dt = 0):
//   y_i = exp(c_i)·S_in·C_i + Σ_{j≤i} (C_i·B_j)·exp(c_i − c_j)·dt_j·x_j + D·x_i
//   S_out = exp(c_last)·S_in + Σ_j exp(c_last − c_j)·dt_j·x_j ⊗ B_j
import { dotF32, exp4, hsum, stepSize } from "./common";

export function ssd_scan(y: usize, xbc: usize, zxbcdt: usize, dtBias: usize, A: usize, D: usize, state: usize, mask: usize,
  batch: i32, steps: i32, heads: i32, headDim: i32, groups: i32, n: i32, convDim: i32, zStride: i32, dtMin: f32, dtMax: f32,
  chunk: i32, scratch: usize, part: i32, parts: i32): void {
  // thread `part` of `parts` takes an equal share of the heads, with its own scratch
  const share = (heads + parts - 1) / parts;
  const h0 = min(heads, part * share);
  const h1 = min(heads, h0 + share);
  if (h0 >= h1) return;
  scratch += <usize>part * scratchBytes(groups, chunk);
  const perGroup = heads / groups;
  const inner = heads * headDim;
  const cb = scratch; // [G, Q, Q]: C_i·B_j of the chunk
  const dts = cb + (<usize>(groups * chunk * chunk) << 2); // [Q]
  const cum = dts + (<usize>chunk << 2); // [Q]
  const coef = cum + (<usize>chunk << 2); // [Q]: the state update's weights of one state row
  const rowBytes = <usize>convDim << 2;
  for (let b = 0; b < batch; b++) {
    for (let start = 0; start < steps; start += chunk) {
      const len = min(chunk, steps - start);
      const first = b * steps + start;
      const xFirst = xbc + <usize>first * rowBytes;
      for (let g = h0 / perGroup; g <= (h1 - 1) / perGroup; g++) {
        for (let i = 0; i < len; i++) {
          const cVec = xFirst + <usize>i * rowBytes + (<usize>(inner + groups * n + g * n) << 2);
          for (let j = 0; j <= i; j++) {
            const bVec = xFirst + <usize>j * rowBytes + (<usize>(inner + g * n) << 2);
            store<f32>(cb + (<usize>((g * chunk + i) * chunk + j) << 2), dotF32(cVec, bVec, n));
          }
        }
      }
      for (let h = h0; h < h1; h++) {
        const g = h / perGroup;
        const a = load<f32>(A + (<usize>h << 2));
        const d = load<f32>(D + (<usize>h << 2));
        const bias = load<f32>(dtBias + (<usize>h << 2));
        const s = state + (<usize>((b * heads + h) * headDim * n) << 2);
        let c: f32 = 0;
        for (let i = 0; i < len; i++) {
          const row = first + i;
          const present = !mask || load<i32>(mask + (<usize>row << 2)) != 0;
          const dt: f32 = present ? stepSize(load<f32>(zxbcdt + (<usize>(row * zStride + zStride - heads + h) << 2)), bias, dtMin, dtMax) : 0;
          c += dt * a;
          store<f32>(dts + (<usize>i << 2), dt);
          store<f32>(cum + (<usize>i << 2), c);
        }
        // within the chunk: y_i = D·x_i + Σ_{j≤i} (C_i·B_j)·exp(c_i − c_j)·dt_j·x_j, a weighted sum of the rows
        // x_j (combine), D added to x_i's weight
        const xHead = xFirst + (<usize>(h * headDim) << 2);
        for (let i = 0; i < len; i++) {
          const yRow = y + (<usize>((first + i) * heads + h) * <usize>headDim << 2);
          decayWeights(coef, cb + (<usize>((g * chunk + i) * chunk) << 2), cum, dts, i + 1);
          store<f32>(coef + (<usize>i << 2), load<f32>(coef + (<usize>i << 2)) + d);
          memory.fill(yRow, 0, <usize>headDim << 2);
          combine(yRow, 0, coef, xHead, rowBytes, i + 1, headDim);
        }
        // one pass over the state rows (each stays in L1): y_i[p] += exp(c_i)·S[p]·C_i, then
        // S[p] ← exp(c_last)·S[p] + Σ_j exp(c_last − c_j)·dt_j·x_j[p]·B_j
        const last = load<f32>(cum + (<usize>(len - 1) << 2));
        const total = Mathf.exp(last);
        for (let j = 0; j < len; j++) {
          const q = dts + (<usize>j << 2);
          store<f32>(q, Mathf.exp(last - load<f32>(cum + (<usize>j << 2))) * load<f32>(q));
          store<f32>(cum + (<usize>j << 2), Mathf.exp(load<f32>(cum + (<usize>j << 2)))); // cum[j] ← exp(c_j)
        }
        const cFirst = xFirst + (<usize>(inner + groups * n + g * n) << 2);
        const bFirst = xFirst + (<usize>(inner + g * n) << 2);
        for (let p = 0; p < headDim; p++) {
          const sRow = s + (<usize>(p * n) << 2);
          readState(y + (<usize>((first * heads + h) * headDim + p) << 2), <usize>(heads * headDim) << 2, cum, sRow, cFirst, rowBytes, len, n);
          for (let j = 0; j < len; j++) {
            const xv = load<f32>(xFirst + <usize>j * rowBytes + (<usize>(h * headDim + p) << 2));
            store<f32>(coef + (<usize>j << 2), load<f32>(dts + (<usize>j << 2)) * xv);
          }
          combine(sRow, total, coef, bFirst, rowBytes, len, n);
        }
        if (mask) {
          for (let i = 0; i < len; i++) {
            if (load<i32>(mask + (<usize>(first + i) << 2)) == 0) memory.fill(y + (<usize>((first + i) * heads + h) * <usize>headDim << 2), 0, <usize>headDim << 2);
          }
        }
      }
    }
  }
}

/** Scratch bytes one thread needs: C·B of every group within a chunk, dt, the cumulative decay and a state row's weights. */
export function scratchBytes(groups: i32, chunk: i32): usize {
  return <usize>(groups * chunk * chunk + 3 * chunk) << 2;
}

/**
 * y_i += cum[i]·(s·c_i) for i < len, with y_i = y + i·yStride and c_i = c + i·stride (n values): 4 positions at a
 * time share the loads of s.
 */
function readState(y: usize, yStride: usize, cum: usize, s: usize, c: usize, stride: usize, len: i32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD && (n & 3) == 0) {
    for (; i + 4 <= len; i += 4) {
      let c0 = c + <usize>i * stride, c1 = c0 + stride, c2 = c1 + stride, c3 = c2 + stride;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let p = s, end = s + (<usize>n << 2); p < end; p += 16) {
        const v = v128.load(p);
        a0 = f32x4.add(a0, f32x4.mul(v, v128.load(c0)));
        a1 = f32x4.add(a1, f32x4.mul(v, v128.load(c1)));
        a2 = f32x4.add(a2, f32x4.mul(v, v128.load(c2)));
        a3 = f32x4.add(a3, f32x4.mul(v, v128.load(c3)));
        c0 += 16; c1 += 16; c2 += 16; c3 += 16;
      }
      addScaled(y + <usize>i * yStride, load<f32>(cum + (<usize>i << 2)), hsum(a0));
      addScaled(y + <usize>(i + 1) * yStride, load<f32>(cum + (<usize>(i + 1) << 2)), hsum(a1));
      addScaled(y + <usize>(i + 2) * yStride, load<f32>(cum + (<usize>(i + 2) << 2)), hsum(a2));
      addScaled(y + <usize>(i + 3) * yStride, load<f32>(cum + (<usize>(i + 3) << 2)), hsum(a3));
    }
  }
  for (; i < len; i++) addScaled(y + <usize>i * yStride, load<f32>(cum + (<usize>i << 2)), dotF32(s, c + <usize>i * stride, n));
}

/** w[j] = cbRow[j]·exp(c_i − cum[j])·dt[j] for j < n, c_i = cum[n − 1]: position i = n − 1's weights of its chunk's x_j. */
function decayWeights(w: usize, cbRow: usize, cum: usize, dt: usize, n: i32): void {
  const ci = load<f32>(cum + (<usize>(n - 1) << 2));
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const cv = f32x4.splat(ci);
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      v128.store(w + o, f32x4.mul(f32x4.mul(v128.load(cbRow + o), exp4(f32x4.sub(cv, v128.load(cum + o)))), v128.load(dt + o)));
    }
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(w + o, load<f32>(cbRow + o) * Mathf.exp(ci - load<f32>(cum + o)) * load<f32>(dt + o));
  }
}

@inline function addScaled(p: usize, a: f32, b: f32): void {
  store<f32>(p, load<f32>(p) + a * b);
}

/**
 * s[k] ← beta·s[k] + Σ_{j<len} coef[j]·b_j[k] for k < n, with b_j = b + j·stride: 16 values of s at a time stay in
 * registers over every j (s read and written once).
 */
function combine(s: usize, beta: f32, coef: usize, b: usize, stride: usize, len: i32, n: i32): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    const bv = f32x4.splat(beta);
    for (; k + 16 <= n; k += 16) {
      const o = <usize>k << 2;
      let a0 = f32x4.mul(bv, v128.load(s + o)), a1 = f32x4.mul(bv, v128.load(s + o, 16));
      let a2 = f32x4.mul(bv, v128.load(s + o, 32)), a3 = f32x4.mul(bv, v128.load(s + o, 48));
      for (let j = 0, bj = b + o; j < len; j++, bj += stride) {
        const c = v128.load32_splat(coef + (<usize>j << 2));
        a0 = f32x4.add(a0, f32x4.mul(c, v128.load(bj)));
        a1 = f32x4.add(a1, f32x4.mul(c, v128.load(bj, 16)));
        a2 = f32x4.add(a2, f32x4.mul(c, v128.load(bj, 32)));
        a3 = f32x4.add(a3, f32x4.mul(c, v128.load(bj, 48)));
      }
      v128.store(s + o, a0); v128.store(s + o, a1, 16); v128.store(s + o, a2, 32); v128.store(s + o, a3, 48);
    }
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    let acc = beta * load<f32>(s + o);
    for (let j = 0; j < len; j++) acc += load<f32>(coef + (<usize>j << 2)) * load<f32>(b + <usize>j * stride + o);
    store<f32>(s + o, acc);
  }
}
