// gemv by subgroups (adapters with `subgroups`; rows of at most 4096 elements), the same product as matmul.wgsl's
// gemv: out[r, o0 + o] (+)= Σ_i x[r, i]·w[o, i] + bias, with its NORM prologue and `store`.
// A workgroup computes RX rows × RG = (256 / SG_MIN)·RS outputs, SG_MIN the adapter's smallest subgroup size.
// Each subgroup takes RS outputs and strides over I alone, U loads of each weight row in flight per step, x (with
// its gain or gate) loaded once for the RS outputs; then one subgroupAdd per sum: no workgroup memory, no barrier.
// A load is WL vec4s: 2 for 16-bit weights in rows of a multiple of 8 (`w_row8`, one 16-byte load), else 1.
// Subgroups of SG_MIN invocations take RS outputs once; wider ones take more in turn (narrower ones, where the
// adapter misreports, leave some subgroups on repeated outputs whose sums are not stored).
// Completed by programs/matmul.ts (after matmul.wgsl) with the constants RS, U, WL and SG_MIN, and `w_load`.
const RG = (256u / SG_MIN) * RS;

@compute @workgroup_size(256)
fn gemv_subgroup(
  @builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) id: u32,
  @builtin(subgroup_invocation_id) sg_id: u32, @builtin(subgroup_size) sg_size: u32, // not in a Lane: sg_size is uniform
) {
  let blocks = (p.part_rows + RG - 1u) / RG;
  let index = grid_index(wg, nwg);
  let og = (index % blocks) * RG;
  let r0 = (index / blocks) * RX;
  let groups = 256u / sg_size;
  let sg = id / sg_size;
  let n = p.in_dim / (VEC * WL);
  for (var turn = 0u; turn < max(1u, sg_size / SG_MIN); turn++) {
    let first = (turn * groups + sg) * RS; // of the workgroup's RG outputs
    // zeroed explicitly: Dawn on SwiftShader kept a loop-scoped `var` without initializer across iterations
    var acc = array<array<f32, RS>, RX>();
    var ss = array<f32, RX>();
    for (var j0 = 0u; j0 < n; j0 += U * sg_size) { // uniform steps: subgroupAdd follows
      for (var u = 0u; u < U; u++) {
        let j = j0 + u * sg_size + sg_id;
        if (j < n) {
          var xg: array<array<vec4<f32>, RX>, WL>;
          for (var l = 0u; l < WL; l++) { xg[l] = x_loads(r0, WL * j + l, &ss); }
          for (var o = 0u; o < RS; o++) {
            // outputs past the part (or the workgroup's) re-read the part's last row (their sums are not stored)
            let wv = w_load(min(og + min(first + o, RG - 1u), p.part_rows - 1u), j);
            for (var l = 0u; l < WL; l++) {
              for (var rx = 0u; rx < RX; rx++) { acc[rx][o] += dot(xg[l][rx], wv[l]); }
            }
          }
        }
      }
    }
    for (var rx = 0u; rx < RX; rx++) {
      var scale = 1.0;
      if (NORM == 1u) { scale = inverseSqrt(subgroupAdd(ss[rx]) / f32(p.in_dim) + p.eps); }
      for (var o = 0u; o < RS; o++) {
        let sum = subgroupAdd(acc[rx][o]);
        let out_o = og + first + o;
        if (sg_id == 0u && first + o < RG && out_o < p.part_rows && r0 + rx < p.rows) { store(r0 + rx, out_o, sum * scale); }
      }
    }
  }
}
