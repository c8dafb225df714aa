// The memory bandwidth probe (bandwidth.ts): every invocation sums the vec4s i ≡ its index (mod the invocations
// of the grid) of src [n] and writes nothing unless the sum is an unlikely value (src is zero), so that the loads
// cannot be dropped and the dispatch moves only src's bytes.
struct Params { n: u32, threads: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  var acc = vec4<f32>(0.0);
  for (var i = grid_index(wg, nwg) * 256u + lid; i < p.n; i += p.threads) { acc += src[i]; }
  if (dot(acc, vec4<f32>(1.0)) == 1234.5) { out[0] = acc.x; }
}
