// Gated RMSNorm, one workgroup per (row, group of `group` channels): g = y ⊙ silu(z),
// out = w ⊙ g / sqrt(mean over the group(g²) + eps). out, y [R, E], z [R, S] (its first E columns), w [E].
// Completed by programs/gated-rms-norm.ts with the reductions (Lane, wg_sum) and GRID.
struct Params { rows: u32, e: u32, z_stride: u32, group: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;

fn gated(row: u32, c: u32) -> f32 {
  let zv = z[row * p.z_stride + c];
  return y[row * p.e + c] * zv / (1.0 + exp(-zv));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let index = grid_index(wg, nwg);
  let groups = p.e / p.group;
  let row = index / groups;
  let start = (index % groups) * p.group;
  let valid = row < p.rows;
  var ss = 0.0;
  if (valid) { for (var i = lane.id; i < p.group; i += 256u) { let g = gated(row, start + i); ss += g * g; } }
  let scale = inverseSqrt(wg_sum(ss, lane) / f32(p.group) + p.eps);
  if (valid) {
    for (var i = lane.id; i < p.group; i += 256u) { out[row * p.e + start + i] = w[start + i] * (gated(row, start + i) * scale); }
  }
}
