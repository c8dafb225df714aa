// The selective state space over T positions (prefill; with T = 1 also the decode step, see ssm-step.ts).
// y [B, T, H, P], xbc [B, T, convDim] = x (H·P) | B (G·N) | C (G·N), zxbcdt [B, T, S] (dt = the H columns at
// dt_offset), state [B, H, P, N] (read, then updated), mask i32 [B, T] (read when has_mask).
// Per head h (group g = h / (H/G)), with dt = clamp(softplus(dt_raw + dt_bias[h]), dt_min, dt_max) (0 when absent):
//   S ← exp(dt·A[h])·S + dt·x ⊗ B_g;  y = S·C_g + D[h]·x  (absent positions: S unchanged, y = 0).
// A workgroup owns (b, h, a block of PB channels p); invocation (p, j) keeps the state entries n ≡ j (mod NS)
// in registers. Positions go in chunks of TB: B, C, x and dt of a chunk are staged in workgroup memory, the
// partial sums of y per (t, p, j) too, then reduced over j.
// Completed by programs/ssd-scan.ts with GRID and the constants N, NS, NPT = ceil(N / NS), PB and TB.
struct Params {
  batch: u32, steps: u32, heads: u32, head_dim: u32, groups: u32, conv_dim: u32, z_stride: u32, dt_offset: u32,
  has_mask: u32, dt_min: f32, dt_max: f32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read> xbc: array<f32>;
@group(0) @binding(4) var<storage, read> zxbcdt: array<f32>;
@group(0) @binding(5) var<storage, read> dt_bias: array<f32>;
@group(0) @binding(6) var<storage, read> a_neg: array<f32>;
@group(0) @binding(7) var<storage, read> d_skip: array<f32>;
@group(0) @binding(8) var<storage, read> mask: array<i32>;

var<workgroup> bs: array<f32, TB * N>;
var<workgroup> cs: array<f32, TB * N>;
var<workgroup> xs: array<f32, TB * PB>;
var<workgroup> dts: array<f32, TB>;
var<workgroup> ys: array<f32, TB * PB * NS>;

fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }

@compute @workgroup_size(PB * NS)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let p_blocks = (p.head_dim + PB - 1u) / PB;
  let index = grid_index(wg, nwg);
  let b = index / (p.heads * p_blocks);
  let h = (index / p_blocks) % p.heads;
  let p0 = (index % p_blocks) * PB;
  let g = h / (p.heads / p.groups);
  let j = lid % NS;
  let pl = lid / NS;
  let pp = p0 + pl;
  let mine = pp < p.head_dim;
  let x_col = h * p.head_dim;
  let b_col = p.heads * p.head_dim + g * N;
  let c_col = b_col + p.groups * N;
  let s_base = ((b * p.heads + h) * p.head_dim + pp) * N;
  let a = a_neg[h];
  var s: array<f32, NPT>;
  for (var i = 0u; i < NPT; i++) {
    let n = j + i * NS;
    if (mine && n < N) { s[i] = state[s_base + n]; }
  }
  for (var t0 = 0u; t0 < p.steps; t0 += TB) {
    let len = min(TB, p.steps - t0);
    for (var e = lid; e < len * N; e += PB * NS) {
      let row = b * p.steps + t0 + e / N;
      bs[e] = xbc[row * p.conv_dim + b_col + e % N];
      cs[e] = xbc[row * p.conv_dim + c_col + e % N];
    }
    for (var e = lid; e < len * PB; e += PB * NS) {
      let row = b * p.steps + t0 + e / PB;
      xs[e] = select(0.0, xbc[row * p.conv_dim + x_col + p0 + e % PB], p0 + e % PB < p.head_dim);
    }
    for (var e = lid; e < len; e += PB * NS) {
      let row = b * p.steps + t0 + e;
      let dt = clamp(softplus(zxbcdt[row * p.z_stride + p.dt_offset + h] + dt_bias[h]), p.dt_min, p.dt_max);
      dts[e] = select(0.0, dt, p.has_mask == 0u || mask[row] != 0);
    }
    workgroupBarrier();
    for (var t = 0u; t < len; t++) {
      let dt = dts[t];
      let decay = exp(dt * a);
      let dx = dt * xs[t * PB + pl];
      var acc = 0.0;
      for (var i = 0u; i < NPT; i++) {
        let n = j + i * NS;
        if (n < N) {
          s[i] = decay * s[i] + dx * bs[t * N + n];
          acc += s[i] * cs[t * N + n];
        }
      }
      ys[(t * PB + pl) * NS + j] = acc;
    }
    workgroupBarrier();
    for (var e = lid; e < len * PB; e += PB * NS) {
      let t = e / PB;
      let q = p0 + e % PB;
      if (q < p.head_dim) {
        let row = b * p.steps + t0 + t;
        var sum = 0.0;
        for (var k = 0u; k < NS; k++) { sum += ys[e * NS + k]; }
        let present = p.has_mask == 0u || mask[row] != 0;
        y[(row * p.heads + h) * p.head_dim + q] = select(0.0, sum + d_skip[h] * xs[e], present);
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < NPT; i++) {
    let n = j + i * NS;
    if (mine && n < N) { state[s_base + n] = s[i]; }
  }
}
