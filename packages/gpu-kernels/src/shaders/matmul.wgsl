// out[r, o0 + o] (+)= Σ_i x[r, i]·w[o, i] + bias[o0 + o], for the part of w holding rows o0..o0 + part_rows − 1
// (a matrix larger than a binding is multiplied part by part). out f32 [R, O], x f32 [R, I], w [O, I]
// (f32, or f16/bf16 widened in registers), bias f32 [O] (read when has_bias).
// Completed by programs/matmul.ts with: GRID, the reductions (Lane, wg_sum4), `x_row4`/`x_at`/`w_row4`/`w_at` (vec4 loads when I % 4 == 0),
// `x_gain4`, `conv_push` (conv-step.wgsl, or nothing), and the constants VEC (4 or 1: elements per load), RX and
// RW (gemv tile), TM and KS (gemm tile rows, slices of k), NORM and ACC:
//   NORM = 1 (gemv only): x is a norm's input, x_gain4 its weight: out = (Σ_i x·gain·w)·rsqrt(mean_i(x²) + eps),
//            an RMSNorm (or, with x = y ⊙ silu(z), the gated one) folded into the product;
//   ACC = 1: the result is added to out (the residual connection).
//   gemv: few rows (decode): a workgroup computes RX rows × RW outputs (RW a multiple of 4); its 256 invocations
//         stride over I together (consecutive invocations read consecutive parts of each weight row), each keeping
//         RX × RW partial sums: x (with its gain or gate) is loaded once for all RW outputs and each weight load
//         serves all RX rows. Then one workgroup reduction per 4 sums (wg_sum4).
//   gemm: many rows (prefill): TM (64 or 128) rows × 64 outputs per workgroup, K in steps of 16 through workgroup
//         memory, TM / 16 × 4 outputs per invocation. With KS > 1 the sums over k are split in KS slices of kl
//         (a multiple of 16): slice s writes its partial sums to parts [KS, R, part_rows], and gemm_sum adds them
//         up and stores them (bias, ACC).
// gemv-subgroup.wgsl is the gemv by subgroups, for adapters that have them.
struct Params {
  rows: u32, out_dim: u32, in_dim: u32, o0: u32, part_rows: u32, has_bias: u32, z_stride: u32, eps: f32,
  conv_offset: u32, channels: u32, has_conv_bias: u32, has_mask: u32, // the conv step (conv-step.wgsl)
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(12) var<storage, read_write> parts: array<f32>;

fn store(r: u32, o: u32, v: f32) {
  var b = 0.0;
  if (p.has_bias != 0u) { b = bias[p.o0 + o]; }
  let i = r * p.out_dim + p.o0 + o;
  if (ACC == 1u) { out[i] = out[i] + (v + b); } else { out[i] = v + b; }
  conv_push(r, p.o0 + o, v + b);
}

// Load j of rows r0 .. r0 + RX − 1 of x, times the norm's gain (rows past the last are left 0); with NORM, adds
// each load's sum of squares to ss.
fn x_loads(r0: u32, j: u32, ss: ptr<function, array<f32, RX>>) -> array<vec4<f32>, RX> {
  let gain = x_gain4(j);
  var xg = array<vec4<f32>, RX>();
  for (var rx = 0u; rx < RX; rx++) {
    if (r0 + rx < p.rows) {
      let xv = x_row4(r0 + rx, j, p.in_dim);
      if (NORM == 1u) { (*ss)[rx] += dot(xv, xv); }
      xg[rx] = xv * gain;
    }
  }
  return xg;
}

// Partial sums of the gemv: acc[rx·RW/4 + q][k] is output o0 + 4q + k of row r0 + rx.
const ACCS = RX * RW / 4u;

@compute @workgroup_size(256)
fn gemv(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let blocks = (p.part_rows + RW - 1u) / RW;
  let index = grid_index(wg, nwg);
  let o0 = (index % blocks) * RW;
  let r0 = (index / blocks) * RX;
  var acc: array<vec4<f32>, ACCS>;
  var ss: array<f32, RX>;
  for (var j = lane.id; j < p.in_dim / VEC; j += 256u) {
    // x of every row once (times the norm's gain), then each weight load serves all RX rows
    let xg = x_loads(r0, j, &ss);
    for (var q = 0u; q < RW / 4u; q++) {
      for (var k = 0u; k < 4u; k++) {
        // outputs past the part re-read its last row (their sums are not stored)
        let wv = w_row4(min(o0 + 4u * q + k, p.part_rows - 1u), j, p.in_dim);
        for (var rx = 0u; rx < RX; rx++) { acc[rx * (RW / 4u) + q][k] += dot(xg[rx], wv); }
      }
    }
  }
  var norms: array<vec4<f32>, (RX + 3u) / 4u>;
  if (NORM == 1u) {
    for (var g = 0u; g < (RX + 3u) / 4u; g++) {
      var v = vec4<f32>(0.0);
      for (var k = 0u; k < 4u && 4u * g + k < RX; k++) { v[k] = ss[4u * g + k]; }
      norms[g] = wg_sum4(v, lane);
    }
  }
  for (var i = 0u; i < ACCS; i++) {
    let sum = wg_sum4(acc[i], lane);
    let rx = i / (RW / 4u);
    var scale = 1.0;
    if (NORM == 1u) { scale = inverseSqrt(norms[rx / 4u][rx % 4u] / f32(p.in_dim) + p.eps); }
    let o = o0 + 4u * (i % (RW / 4u));
    if (lane.id < 4u && r0 + rx < p.rows && o + lane.id < p.part_rows) { store(r0 + rx, o + lane.id, sum[lane.id] * scale); }
  }
}

const TN = 64u;
const TK = 16u;
const XQ = TM / 64u; // quads of the x tile an invocation loads; rows an invocation computes: 4·XQ
var<workgroup> xs: array<vec4<f32>, 4u * TM>; // [TK][TM / 4]
var<workgroup> ws: array<vec4<f32>, 256>; // [TK][TN / 4]

@compute @workgroup_size(256)
fn gemm(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tiles_n = (p.part_rows + TN - 1u) / TN;
  let tiles = tiles_n * ((p.rows + TM - 1u) / TM);
  let index = grid_index(wg, nwg);
  let s = index / tiles; // the slice of k
  let n0 = (index % tiles % tiles_n) * TN;
  let m0 = (index % tiles / tiles_n) * TM;
  let kl = (p.in_dim + KS * TK - 1u) / (KS * TK) * TK;
  let ty = lid / 16u; // rows m0 + 64h + 4ty .. + 3, h < XQ
  let tx = lid % 16u; // outputs n0 + 4tx .. + 3
  var acc: array<vec4<f32>, 4u * XQ>; // acc[4h + i]: row m0 + 64h + 4ty + i
  for (var k0 = s * kl; k0 < min(p.in_dim, s * kl + kl); k0 += TK) {
    // loading: quad v = lid + 256l of a tile is (row v / 4, k 4·(v % 4) .. + 3); x has XQ quads an invocation, w 1
    for (var l = 0u; l < XQ; l++) {
      let v = lid + 256u * l;
      let t = v / 4u;
      let lk = (v % 4u) * 4u;
      var xv = vec4<f32>();
      var wv = vec4<f32>();
      if (VEC == 4u) {
        // I % 4 == 0: the four k are in bounds together, one vector load each
        if (k0 + lk < p.in_dim) {
          if (m0 + t < p.rows) { xv = x_row4(m0 + t, (k0 + lk) / 4u, p.in_dim); }
          if (l == 0u && n0 + t < p.part_rows) { wv = w_row4(n0 + t, (k0 + lk) / 4u, p.in_dim); }
        }
      } else {
        for (var e = 0u; e < 4u; e++) {
          let k = k0 + lk + e;
          let inside = k < p.in_dim;
          xv[e] = select(0.0, x_at((m0 + t) * p.in_dim + k), inside && m0 + t < p.rows);
          if (l == 0u) { wv[e] = select(0.0, w_at((n0 + t) * p.in_dim + k), inside && n0 + t < p.part_rows); }
        }
      }
      for (var e = 0u; e < 4u; e++) {
        xs[(lk + e) * (TM / 4u) + t / 4u][t % 4u] = xv[e];
        if (l == 0u) { ws[(lk + e) * 16u + t / 4u][t % 4u] = wv[e]; }
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let b = ws[k * 16u + tx];
      for (var h = 0u; h < XQ; h++) {
        let a = xs[k * (TM / 4u) + 16u * h + ty];
        acc[4u * h] += a[0] * b;
        acc[4u * h + 1u] += a[1] * b;
        acc[4u * h + 2u] += a[2] * b;
        acc[4u * h + 3u] += a[3] * b;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u * XQ; i++) {
    let r = m0 + 64u * (i / 4u) + ty * 4u + i % 4u;
    for (var j = 0u; j < 4u; j++) {
      let o = n0 + tx * 4u + j;
      if (r < p.rows && o < p.part_rows) {
        if (KS == 1u) { store(r, o, acc[i][j]); } else { parts[(s * p.rows + r) * p.part_rows + o] = acc[i][j]; }
      }
    }
  }
}

// The split gemm's sums: out[r, o0 + o] (+)= Σ_s parts[s, r, o] + bias, one element an invocation.
@compute @workgroup_size(256)
fn gemm_sum(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = p.rows * p.part_rows;
  let i = grid_index(wg, nwg) * 256u + lid;
  if (i >= n) { return; }
  var v = 0.0;
  for (var s = 0u; s < KS; s++) { v += parts[s * n + i]; }
  store(i / p.part_rows, i % p.part_rows, v);
}
