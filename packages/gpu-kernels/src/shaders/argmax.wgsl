// out[r] = the first index of the largest x[r, :], one workgroup per row. out i32 [R], x [R, V].
// Each invocation loads 32 strided elements at once (independent loads: a row is read in V / 8192 round trips
// instead of V / 256; one workgroup alone on the GPU waits on memory, not on compute), then compares them in
// index order. Completed by programs/argmax.ts with the reductions (Lane, wg_argmax) and GRID.
struct Params { rows: u32, v: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

const LOADS = 32u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = grid_index(wg, nwg);
  let base = min(row, p.rows - 1u) * p.v;
  // every invocation starts from element 0 (a valid candidate even where it has no elements of its own);
  // its i grow, so a strict > keeps the first maximum
  var best = x[base];
  var at = 0u;
  for (var i0 = lane.id; i0 < p.v; i0 += 256u * LOADS) {
    var v: array<f32, LOADS>;
    for (var k = 0u; k < LOADS; k++) { v[k] = x[base + min(i0 + 256u * k, p.v - 1u)]; }
    for (var k = 0u; k < LOADS; k++) {
      let i = i0 + 256u * k;
      if (i < p.v && v[k] > best) { best = v[k]; at = i; }
    }
  }
  let r = wg_argmax(best, at, lane);
  if (row < p.rows && lane.id == 0u) { out[row] = i32(r); }
}
