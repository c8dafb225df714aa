// Embedding gather: out[r, d] = table[ids[r], d]. out f32 [R, D], ids i32 [R], table [V, D] bound as one part
// of rows [row0, row0 + part_rows) (a table larger than a binding is gathered part by part).
// Completed by programs/embedding.ts with `table_at` (the table's dtype) and GRID.
struct Params { rows: u32, dim: u32, row0: u32, part_rows: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = grid_index(wg, nwg) * 256u + lid;
  if (i >= p.rows * p.dim) { return; }
  let r = i / p.dim;
  let id = u32(ids[r]);
  if (id < p.row0 || id >= p.row0 + p.part_rows) { return; }
  out[i] = table_at((id - p.row0) * p.dim + i % p.dim);
}
