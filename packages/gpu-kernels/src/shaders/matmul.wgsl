// out[r, o0 + o] (+)= Σ_i x[r, i]·w[o, i] + bias[o0 + o], for the part of w holding rows o0..o0 + part_rows − 1
// (a matrix larger than a binding is multiplied part by part). out f32 [R, O], x f32 [R, I], w [O, I]
// (f32, or f16/bf16 widened in registers), bias f32 [O] (read when has_bias).
// Completed by programs/matmul.ts with: GRID, `x_row4`/`x_at`/`w_row4`/`w_at` (vec4 loads when I % 4 == 0),
// `x_gain4`, and the constants VEC (4 or 1: elements per load), RX and RW (gemv tile), NORM and ACC:
//   NORM = 1 (gemv only): x is a norm's input, x_gain4 its weight: out = (Σ_i x·gain·w)·rsqrt(mean_i(x²) + eps),
//            an RMSNorm (or, with x = y ⊙ silu(z), the gated one) folded into the product;
//   ACC = 1: the result is added to out (the residual connection).
//   gemv: few rows (decode): a workgroup computes RX rows × RW outputs, 256 / RW invocations per output
//         striding over I (coalesced loads of its weight row), then a tree reduction in workgroup memory.
//   gemm: many rows (prefill): 64 rows × 64 outputs per workgroup, K in steps of 16 through workgroup memory,
//         4 × 4 outputs per invocation.
//   gemm_large: at least 128 rows and outputs: 128 × 128 per workgroup, 8 × 8 outputs per invocation.
struct Params { rows: u32, out_dim: u32, in_dim: u32, o0: u32, part_rows: u32, has_bias: u32, z_stride: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

fn store(r: u32, o: u32, v: f32) {
  var b = 0.0;
  if (p.has_bias != 0u) { b = bias[p.o0 + o]; }
  let i = r * p.out_dim + p.o0 + o;
  if (ACC == 1u) { out[i] = out[i] + (v + b); } else { out[i] = v + b; }
}

var<workgroup> seg: array<f32, RX * 256>;
var<workgroup> seg_ss: array<f32, RX * 256>;

@compute @workgroup_size(256)
fn gemv(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lanes = 256u / RW; // invocations per output
  let blocks = (p.part_rows + RW - 1u) / RW;
  let index = grid_index(wg, nwg);
  let o = (index % blocks) * RW + lid / lanes;
  let r_base = (index / blocks) * RX;
  let lane = lid % lanes;
  var acc: array<f32, RX>;
  var ss: array<f32, RX>;
  if (o < p.part_rows) {
    for (var j = lane; j < p.in_dim / VEC; j += lanes) {
      let wv = w_row4(o, j, p.in_dim);
      let gain = x_gain4(j);
      for (var rx = 0u; rx < RX; rx++) {
        if (r_base + rx < p.rows) {
          let xv = x_row4(r_base + rx, j, p.in_dim);
          acc[rx] += dot(xv * gain, wv);
          if (NORM == 1u) { ss[rx] += dot(xv, xv); }
        }
      }
    }
  }
  // sum each output's `lanes` partial sums: a tree in workgroup memory, all RX rows at once
  for (var rx = 0u; rx < RX; rx++) {
    seg[rx * 256u + lid] = acc[rx];
    if (NORM == 1u) { seg_ss[rx * 256u + lid] = ss[rx]; }
  }
  workgroupBarrier();
  for (var s = lanes / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var rx = 0u; rx < RX; rx++) {
        seg[rx * 256u + lid] += seg[rx * 256u + lid + s];
        if (NORM == 1u) { seg_ss[rx * 256u + lid] += seg_ss[rx * 256u + lid + s]; }
      }
    }
    workgroupBarrier();
  }
  if (lane == 0u && o < p.part_rows) {
    for (var rx = 0u; rx < RX; rx++) {
      if (r_base + rx < p.rows) {
        var scale = 1.0;
        if (NORM == 1u) { scale = inverseSqrt(seg_ss[rx * 256u + lid] / f32(p.in_dim) + p.eps); }
        store(r_base + rx, o, seg[rx * 256u + lid] * scale);
      }
    }
  }
}

// Elements k..k+3 of row r of x (of w when `of_w`), zeros past the rows (part_rows) or in_dim.
fn operand4(of_w: bool, r: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>();
  if (r >= select(p.rows, p.part_rows, of_w)) { return v; }
  if (VEC == 4u) {
    // I % 4 == 0: the four k are in bounds together, one vector load
    if (k < p.in_dim) {
      if (of_w) { v = w_row4(r, k / 4u, p.in_dim); } else { v = x_row4(r, k / 4u, p.in_dim); }
    }
  } else {
    for (var e = 0u; e < 4u && k + e < p.in_dim; e++) {
      let i = r * p.in_dim + k + e;
      if (of_w) { v[e] = w_at(i); } else { v[e] = x_at(i); }
    }
  }
  return v;
}

// Outputs o..o+3 of row r, those inside the matrix.
fn store4(r: u32, o: u32, v: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) {
    if (r < p.rows && o + j < p.part_rows) { store(r, o + j, v[j]); }
  }
}

const TM = 64u;
const TN = 64u;
const TK = 16u;
var<workgroup> xs: array<vec4<f32>, 256>; // [TK][TM / 4]
var<workgroup> ws: array<vec4<f32>, 256>; // [TK][TN / 4]

@compute @workgroup_size(256)
fn gemm(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tiles_n = (p.part_rows + TN - 1u) / TN;
  let index = grid_index(wg, nwg);
  let n0 = (index % tiles_n) * TN;
  let m0 = (index / tiles_n) * TM;
  let ty = lid / 16u; // rows m0 + 4ty .. + 3
  let tx = lid % 16u; // outputs n0 + 4tx .. + 3
  // loading: invocation lid fills element (row lid / 4, k 4·(lid % 4) .. + 3) of each tile
  let lm = lid / 4u;
  let lk = (lid % 4u) * 4u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.in_dim; k0 += TK) {
    let xv = operand4(false, m0 + lm, k0 + lk);
    let wv = operand4(true, n0 + lm, k0 + lk);
    for (var e = 0u; e < 4u; e++) {
      xs[(lk + e) * 16u + lm / 4u][lm % 4u] = xv[e];
      ws[(lk + e) * 16u + lm / 4u][lm % 4u] = wv[e];
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a = xs[k * 16u + ty];
      let b = ws[k * 16u + tx];
      acc[0] += a[0] * b;
      acc[1] += a[1] * b;
      acc[2] += a[2] * b;
      acc[3] += a[3] * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) { store4(m0 + ty * 4u + i, n0 + tx * 4u, acc[i]); }
}

// gemm_large: a 128 × 128 tile per workgroup; invocation (ty, tx) = (lid / 16, lid % 16) computes rows
// 4ty + 64h + i and outputs 4tx + 64g + j (h, g < 2; i, j < 4) as outer products of vec4s, K in steps of 16.
// x's and w's tiles are staged transposed, [16 k][128 / 4] vec4 each (16 KiB in all), vec4 column c of k-row k at
// c ^ 2(k / 4): a warp's stores then hit 32 distinct banks, its reads (x: two vec4, broadcast; w: sixteen
// consecutive) stay conflict-free. The next step's loads are issued before the current step's products.
const LT = 128u;
const LK = 16u;
var<workgroup> xl: array<vec4<f32>, 512>; // [LK][LT / 4]
var<workgroup> wl: array<vec4<f32>, 512>; // [LK][LT / 4]

// Where vec4 column c of k-row k is staged.
fn slot(k: u32, c: u32) -> u32 { return k * 32u + (c ^ (k / 4u * 2u)); }

// What invocation lid stages of the tiles at rows m0, outputs n0, k0: rows lid / 4 and lid / 4 + 64 (h = 0, 1),
// k 4·(lid % 4) .. + 3, of x and of w.
struct Staged { x: array<vec4<f32>, 2>, w: array<vec4<f32>, 2> }
fn load_large(m0: u32, n0: u32, k0: u32, lid: u32) -> Staged {
  var s: Staged;
  let k = k0 + (lid % 4u) * 4u;
  for (var h = 0u; h < 2u; h++) {
    s.x[h] = operand4(false, m0 + lid / 4u + 64u * h, k);
    s.w[h] = operand4(true, n0 + lid / 4u + 64u * h, k);
  }
  return s;
}

@compute @workgroup_size(256)
fn gemm_large(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tiles_n = (p.part_rows + LT - 1u) / LT;
  let index = grid_index(wg, nwg);
  let n0 = (index % tiles_n) * LT;
  let m0 = (index / tiles_n) * LT;
  let ty = lid / 16u;
  let tx = lid % 16u;
  let lm = lid / 4u;
  let lk = (lid % 4u) * 4u;
  var next = load_large(m0, n0, 0u, lid);
  var acc: array<vec4<f32>, 16>; // [h][i][g]
  for (var k0 = 0u; k0 < p.in_dim; k0 += LK) {
    for (var h = 0u; h < 2u; h++) {
      for (var e = 0u; e < 4u; e++) {
        let at = slot(lk + e, lm / 4u + 16u * h);
        xl[at][lm % 4u] = next.x[h][e];
        wl[at][lm % 4u] = next.w[h][e];
      }
    }
    workgroupBarrier();
    next = load_large(m0, n0, k0 + LK, lid);
    for (var k = 0u; k < LK; k++) {
      let a = array(xl[slot(k, ty)], xl[slot(k, ty + 16u)]);
      let b = array(wl[slot(k, tx)], wl[slot(k, tx + 16u)]);
      for (var h = 0u; h < 2u; h++) {
        for (var i = 0u; i < 4u; i++) {
          acc[h * 8u + i * 2u] += a[h][i] * b[0];
          acc[h * 8u + i * 2u + 1u] += a[h][i] * b[1];
        }
      }
    }
    workgroupBarrier();
  }
  for (var h = 0u; h < 2u; h++) {
    for (var i = 0u; i < 4u; i++) {
      for (var g = 0u; g < 2u; g++) {
        store4(m0 + 64u * h + 4u * ty + i, n0 + 64u * g + 4u * tx, acc[h * 8u + i * 2u + g]);
      }
    }
  }
}
