// The selective state space over T positions. y [B, T, H, P], xbc [B, T, convDim] = x (H·P) | B (G·N) | C (G·N),
// zxbcdt [B, T, S] (dt = the H columns at dt_offset), state [B, H, P, N] (read, then updated), mask i32 [B, T]
// (read when has_mask). Per head h (group g = h / (H/G)), dt = clamp(softplus(dt_raw + dt_bias[h]), dt_min, dt_max)
// (0 where masked):
//   S ← exp(dt·A[h])·S + dt·x ⊗ B_g;  y = S·C_g + D[h]·x  (masked positions: S unchanged, y = 0).
// programs/ssd-scan.ts runs one of two forms of it:
// `recurrence` (decode, and T of at most one chunk): a workgroup owns (b, h, a block of PB channels p);
//   invocation (p, j) keeps the state entries n ≡ j (mod NS) in registers. Positions go in blocks of TB: B, C, x
//   and dt of a block are staged in workgroup memory, the partial sums of y per (t, p, j) too, then reduced over j.
// The chunked (SSD) form, over the slice of rows b0 .. b0 + batch and positions t0 .. t0 + span, in chunks of
// `chunk` = L ≤ TILE positions; within a chunk c_i = A·Σ_{k≤i} dt_k, and per chunk and head:
//   `chunk_states`  dt_i and c_i → decay [b, h, t] (vec2), and the chunk's own final state
//                   Σ_j exp(c_last − c_j)·dt_j·B_j ⊗ x_j → states [b, chunk, h, N, P]
//   `chunk_cb`      C_i·B_j → cb [b, chunk, g, j, i]
//   `pass_states`   in chunk order, states[chunk] ← S_in: S_in(0) = state, S_in(k+1) = exp(c_last(k))·S_in(k) +
//                   states[k]; then state ← S_in(chunks)
//   `chunk_outputs` y_i = exp(c_i)·C_i·S_in + Σ_{j≤i} (C_i·B_j)·exp(c_i − c_j)·dt_j·x_j + D·x_i
// All but `pass_states` compute TILE × TILE tiles: 16 × 16 invocations of 4 × 4 outputs (read as vec4s), a product
// over K in steps of KT with both operands staged in workgroup memory.
// Completed by programs/ssd-scan.ts with GRID and the constants N, NS, NPT = ceil(N / NS), PB, TB, TILE = 64, KT.
struct Params {
  batch: u32, steps: u32, heads: u32, head_dim: u32, groups: u32, conv_dim: u32, z_stride: u32, dt_offset: u32,
  has_mask: u32, dt_min: f32, dt_max: f32,
  b0: u32, t0: u32, span: u32, chunk: u32, // the chunked form's slice (`recurrence` runs on all of B and T)
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
@group(0) @binding(9) var<storage, read_write> states: array<f32>;
@group(0) @binding(10) var<storage, read_write> decay: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read_write> cb: array<f32>;

fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }
fn present(row: u32) -> bool { return p.has_mask == 0u || mask[row] != 0; }
/** dt of head h at a row of the tensors (0 where masked). */
fn step_size(row: u32, h: u32) -> f32 {
  let dt = clamp(softplus(zxbcdt[row * p.z_stride + p.dt_offset + h] + dt_bias[h]), p.dt_min, p.dt_max);
  return select(0.0, dt, present(row));
}
/** Columns of x of head h, and of B and C of group g, in an xbc row. */
fn x_col(h: u32) -> u32 { return h * p.head_dim; }
fn b_col(g: u32) -> u32 { return p.heads * p.head_dim + g * N; }
fn c_col(g: u32) -> u32 { return b_col(g) + p.groups * N; }
fn group_of(h: u32) -> u32 { return h / (p.heads / p.groups); }

var<workgroup> bs: array<f32, TB * N>;
var<workgroup> cs: array<f32, TB * N>;
var<workgroup> xs: array<f32, TB * PB>;
var<workgroup> dts: array<f32, TB>;
var<workgroup> ys: array<f32, TB * PB * NS>;

@compute @workgroup_size(PB * NS)
fn recurrence(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let p_blocks = (p.head_dim + PB - 1u) / PB;
  let index = grid_index(wg, nwg);
  let b = index / (p.heads * p_blocks);
  let h = (index / p_blocks) % p.heads;
  let p0 = (index % p_blocks) * PB;
  let j = lid % NS;
  let pl = lid / NS;
  let pp = p0 + pl;
  let mine = pp < p.head_dim;
  let xc = x_col(h);
  let bc = b_col(group_of(h));
  let cc = c_col(group_of(h));
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
      bs[e] = xbc[row * p.conv_dim + bc + e % N];
      cs[e] = xbc[row * p.conv_dim + cc + e % N];
    }
    for (var e = lid; e < len * PB; e += PB * NS) {
      let row = b * p.steps + t0 + e / PB;
      xs[e] = select(0.0, xbc[row * p.conv_dim + xc + p0 + e % PB], p0 + e % PB < p.head_dim);
    }
    for (var e = lid; e < len; e += PB * NS) { dts[e] = step_size(b * p.steps + t0 + e, h); }
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
        y[(row * p.heads + h) * p.head_dim + q] = select(0.0, sum + d_skip[h] * xs[e], present(row));
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < NPT; i++) {
    let n = j + i * NS;
    if (mine && n < N) { state[s_base + n] = s[i]; }
  }
}

// ---- the chunked form ----

const SUB = TILE / 4u; // invocations along each side of a tile (SUB · SUB = 256)
const ROW = SUB + 1u; // vec4s per k of a staged operand, padded (staging along k: 2-way bank conflicts at most)
var<workgroup> tile_l: array<vec4<f32>, KT * ROW>; // [k][rows of the output tile, 4 per vec4]
var<workgroup> tile_r: array<vec4<f32>, KT * ROW>; // [k][columns of the output tile, 4 per vec4]
var<workgroup> pos_dt: array<f32, TILE>; // dt of each position of the chunk
var<workgroup> pos_c: array<f32, TILE>; // c of each position
var<workgroup> pos_scale: array<f32, TILE>; // a factor per position of a staged operand (0 past the chunk)

/** A chunk of the slice: its row `b` of the slice, first position `t` in the slice, and first row in the tensors. */
struct Chunk { index: u32, b: u32, t: u32, len: u32, row: u32 }

fn chunk_count() -> u32 { return (p.span + p.chunk - 1u) / p.chunk; }

/** Chunk `index` = b · chunk_count() + its number within row b. */
fn chunk_at(index: u32) -> Chunk {
  let b = index / chunk_count();
  let t = (index % chunk_count()) * p.chunk;
  return Chunk(index, b, t, min(p.chunk, p.span - t), (p.b0 + b) * p.steps + p.t0 + t);
}

fn decay_at(ch: Chunk, h: u32, i: u32) -> u32 { return (ch.b * p.heads + h) * p.span + ch.t + i; }
fn states_at(ch: Chunk, h: u32) -> u32 { return (ch.index * p.heads + h) * N * p.head_dim; }
fn xbc_at(ch: Chunk, i: u32, col: u32, valid: bool) -> f32 {
  if (valid) { return xbc[(ch.row + i) * p.conv_dim + col]; }
  return 0.0;
}

/**
 * Element e of a staged KT × TILE operand as (k, column): consecutive e run along the column where the source is
 * contiguous along it (`along_column`), else along k.
 */
fn staged(e: u32, along_column: bool) -> vec2u { return select(vec2u(e % KT, e / KT), vec2u(e / TILE, e % TILE), along_column); }

fn stage_l(k: u32, row: u32, v: f32) { tile_l[k * ROW + row / 4u][row % 4u] = v; }
fn stage_r(k: u32, col: u32, v: f32) { tile_r[k * ROW + col / 4u][col % 4u] = v; }

/**
 * acc[a][c] += Σ_k tile_l[k][4r + a] · tile_r[k][4q + c]: the invocation's outputs are rows 4r .. 4r + 3 and
 * columns 4q .. 4q + 3 of the tile, (r, q) = (lid / SUB, lid % SUB).
 */
fn tile_mac(acc: ptr<function, array<vec4<f32>, 4>>, lid: u32) {
  let r = lid / SUB;
  let q = lid % SUB;
  for (var k = 0u; k < KT; k++) {
    let l = tile_l[k * ROW + r];
    let v = tile_r[k * ROW + q];
    for (var a = 0u; a < 4u; a++) { (*acc)[a] += l[a] * v; }
  }
}

@compute @workgroup_size(256)
fn chunk_states(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // a workgroup per (chunk, head, block of TILE state entries n, block of TILE channels p): rows n, columns p
  let n_blocks = (N + TILE - 1u) / TILE;
  let p_blocks = (p.head_dim + TILE - 1u) / TILE;
  let index = grid_index(wg, nwg);
  if (index >= p.batch * chunk_count() * p.heads * n_blocks * p_blocks) { return; }
  let p0 = (index % p_blocks) * TILE;
  let n0 = (index / p_blocks % n_blocks) * TILE;
  let h = index / (p_blocks * n_blocks) % p.heads;
  let ch = chunk_at(index / (p_blocks * n_blocks * p.heads));
  let bc = b_col(group_of(h));
  if (lid < ch.len) { pos_dt[lid] = step_size(ch.row + lid, h); }
  workgroupBarrier();
  if (lid < ch.len) {
    var upto = 0.0;
    var after = 0.0;
    for (var k = 0u; k < ch.len; k++) {
      if (k <= lid) { upto += pos_dt[k]; } else { after += pos_dt[k]; }
    }
    let a = a_neg[h];
    if (n0 == 0u && p0 == 0u) { decay[decay_at(ch, h, lid)] = vec2<f32>(pos_dt[lid], a * upto); }
    pos_scale[lid] = exp(a * after) * pos_dt[lid]; // exp(c_last − c_j)·dt_j, the decay summed from j + 1 on
  }
  workgroupBarrier();
  var acc: array<vec4<f32>, 4>;
  for (var j0 = 0u; j0 < ch.len; j0 += KT) {
    for (var e = lid; e < KT * TILE; e += 256u) {
      let kc = staged(e, true);
      let j = j0 + kc.x; // < TILE
      stage_l(kc.x, kc.y, xbc_at(ch, j, bc + n0 + kc.y, j < ch.len && n0 + kc.y < N));
      stage_r(kc.x, kc.y, pos_scale[j] * xbc_at(ch, j, x_col(h) + p0 + kc.y, j < ch.len && p0 + kc.y < p.head_dim));
    }
    workgroupBarrier();
    tile_mac(&acc, lid);
    workgroupBarrier();
  }
  let base = states_at(ch, h);
  for (var a = 0u; a < 4u; a++) {
    let n = n0 + lid / SUB * 4u + a;
    for (var c = 0u; c < 4u; c++) {
      let q = p0 + lid % SUB * 4u + c;
      if (n < N && q < p.head_dim) { states[base + n * p.head_dim + q] = acc[a][c]; }
    }
  }
}

@compute @workgroup_size(256)
fn chunk_cb(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // a workgroup per (chunk, group): rows j (B), columns i (C)
  let index = grid_index(wg, nwg);
  if (index >= p.batch * chunk_count() * p.groups) { return; }
  let g = index % p.groups;
  let ch = chunk_at(index / p.groups);
  var acc: array<vec4<f32>, 4>;
  for (var n0 = 0u; n0 < N; n0 += KT) {
    for (var e = lid; e < KT * TILE; e += 256u) {
      let kc = staged(e, false);
      let valid = kc.y < ch.len && n0 + kc.x < N;
      stage_l(kc.x, kc.y, xbc_at(ch, kc.y, b_col(g) + n0 + kc.x, valid));
      stage_r(kc.x, kc.y, xbc_at(ch, kc.y, c_col(g) + n0 + kc.x, valid));
    }
    workgroupBarrier();
    tile_mac(&acc, lid);
    workgroupBarrier();
  }
  let base = index * p.chunk * p.chunk;
  for (var a = 0u; a < 4u; a++) {
    let j = lid / SUB * 4u + a;
    for (var c = 0u; c < 4u; c++) {
      let i = lid % SUB * 4u + c;
      if (j < ch.len && i < ch.len) { cb[base + j * p.chunk + i] = acc[a][c]; }
    }
  }
}

@compute @workgroup_size(256)
fn pass_states(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // an invocation per state entry (b, h, n, p) of the slice
  let size = p.heads * N * p.head_dim;
  let e = grid_index(wg, nwg) * 256u + lid;
  if (e >= p.batch * size) { return; }
  let b = e / size;
  let h = e / (N * p.head_dim) % p.heads;
  let n = e / p.head_dim % N;
  let q = e % p.head_dim;
  let at = (((p.b0 + b) * p.heads + h) * p.head_dim + q) * N + n;
  let chunks = chunk_count();
  var s = state[at];
  for (var c = 0u; c < chunks; c++) {
    let ch = chunk_at(b * chunks + c);
    let i = ch.index * size + e % size;
    let own = states[i];
    states[i] = s;
    s = exp(decay[decay_at(ch, h, ch.len - 1u)].y) * s + own;
  }
  state[at] = s;
}

@compute @workgroup_size(256)
fn chunk_outputs(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // a workgroup per (chunk, head, block of TILE channels p): rows i (positions), columns p
  let p_blocks = (p.head_dim + TILE - 1u) / TILE;
  let index = grid_index(wg, nwg);
  if (index >= p.batch * chunk_count() * p.heads * p_blocks) { return; }
  let p0 = (index % p_blocks) * TILE;
  let h = index / p_blocks % p.heads;
  let ch = chunk_at(index / (p_blocks * p.heads));
  let g = group_of(h);
  if (lid < ch.len) {
    let d = decay[decay_at(ch, h, lid)];
    pos_dt[lid] = d.x;
    pos_c[lid] = d.y;
    pos_scale[lid] = exp(d.y); // S_in decayed to position i
  }
  workgroupBarrier();
  var acc: array<vec4<f32>, 4>;
  // within the chunk: Σ_{j≤i} (C_i·B_j)·exp(c_i − c_j)·dt_j·x_j
  let cb_base = (ch.index * p.groups + g) * p.chunk * p.chunk;
  for (var j0 = 0u; j0 < ch.len; j0 += KT) {
    for (var e = lid; e < KT * TILE; e += 256u) {
      let kc = staged(e, true);
      let j = j0 + kc.x;
      let i = kc.y;
      var m = 0.0;
      if (j <= i && i < ch.len) { m = cb[cb_base + j * p.chunk + i] * exp(pos_c[i] - pos_c[j]) * pos_dt[j]; }
      stage_l(kc.x, i, m);
      stage_r(kc.x, kc.y, xbc_at(ch, j, x_col(h) + p0 + kc.y, j < ch.len && p0 + kc.y < p.head_dim));
    }
    workgroupBarrier();
    tile_mac(&acc, lid);
    workgroupBarrier();
  }
  // from the chunk's initial state: exp(c_i)·C_i·S_in
  let s_base = states_at(ch, h);
  for (var n0 = 0u; n0 < N; n0 += KT) {
    for (var e = lid; e < KT * TILE; e += 256u) {
      let kc = staged(e, false);
      stage_l(kc.x, kc.y, pos_scale[kc.y] * xbc_at(ch, kc.y, c_col(g) + n0 + kc.x, kc.y < ch.len && n0 + kc.x < N));
      let kq = staged(e, true);
      let n = n0 + kq.x;
      let q = p0 + kq.y;
      var s = 0.0;
      if (n < N && q < p.head_dim) { s = states[s_base + n * p.head_dim + q]; }
      stage_r(kq.x, kq.y, s);
    }
    workgroupBarrier();
    tile_mac(&acc, lid);
    workgroupBarrier();
  }
  for (var a = 0u; a < 4u; a++) {
    let i = lid / SUB * 4u + a;
    for (var c = 0u; c < 4u; c++) {
      let q = p0 + lid % SUB * 4u + c;
      if (i < ch.len && q < p.head_dim) {
        let row = ch.row + i;
        let x = xbc[row * p.conv_dim + x_col(h) + q];
        y[(row * p.heads + h) * p.head_dim + q] = select(0.0, acc[a][c] + d_skip[h] * x, present(row));
      }
    }
  }
}
