// dst = src, n elements of W: vec4<u32> where the bound range is a multiple of 16 bytes, else u32 (programs/copy.ts).
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<W>;
@group(0) @binding(2) var<storage, read> src: array<W>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = grid_index(wg, nwg) * 256u + lid;
  if (i < p.n) { dst[i] = src[i]; }
}
