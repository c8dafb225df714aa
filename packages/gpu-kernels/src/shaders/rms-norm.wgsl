// RMSNorm, one workgroup per row: out[r, :] = w ⊙ x[r, :] / sqrt(mean(x[r, :]²) + eps). out, x [R, D], w [D].
// Completed by programs/rms-norm.ts with the reductions (Lane, wg_sum) and GRID.
struct Params { rows: u32, dim: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = grid_index(wg, nwg);
  let valid = row < p.rows;
  let base = row * p.dim;
  var ss = 0.0;
  if (valid) { for (var i = lane.id; i < p.dim; i += 256u) { let v = x[base + i]; ss += v * v; } }
  let scale = inverseSqrt(wg_sum(ss, lane) / f32(p.dim) + p.eps);
  if (valid) { for (var i = lane.id; i < p.dim; i += 256u) { out[base + i] = w[i] * (x[base + i] * scale); } }
}
