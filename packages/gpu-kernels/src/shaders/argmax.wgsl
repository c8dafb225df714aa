// out[r] = the first index of the largest x[r, :], one workgroup per row. out i32 [R], x [R, V].
// Completed by programs/argmax.ts with the reductions (Lane, wg_argmax) and GRID.
struct Params { rows: u32, v: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = grid_index(wg, nwg);
  // every invocation starts from element 0 (a valid candidate even where it has no elements of its own);
  // its strided i grow, so a strict > keeps the first maximum
  var best = x[row * p.v];
  var at = 0u;
  if (row < p.rows) {
    for (var i = lane.id; i < p.v; i += 256u) {
      let v = x[row * p.v + i];
      if (v > best) { best = v; at = i; }
    }
  }
  let r = wg_argmax(best, at, lane);
  if (row < p.rows && lane.id == 0u) { out[row] = i32(r); }
}
