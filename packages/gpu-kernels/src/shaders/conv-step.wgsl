// The causal conv step folded into a gemv's stores (decode: one position per row). Output column o of row r, with
// o − conv_offset = c in [0, channels), is pushed into channel c's conv state: win = state[r, c, 1 .. K−1], then
// the new value; xbc[r, c] = activate(Σ_k cw[c, k]·win[k] + conv_bias[c]); the state becomes win. A masked row
// (mask[r] = 0, read when has_mask) pushes nothing and gets 0. state [R, C, K], xbc [R, C], cw [C, K].
// Completed by programs/matmul.ts with `cw_at`, `activate` (activation.wgsl) and the constants K and ACT.
@group(0) @binding(7) var<storage, read_write> conv_state: array<f32>;
@group(0) @binding(8) var<storage, read_write> xbc: array<f32>;
@group(0) @binding(10) var<storage, read> conv_bias: array<f32>;
@group(0) @binding(11) var<storage, read> mask: array<i32>;

fn conv_push(r: u32, o: u32, v: f32) {
  if (o < p.conv_offset || o >= p.conv_offset + p.channels) { return; }
  let c = o - p.conv_offset;
  if (p.has_mask != 0u && mask[r] == 0) {
    xbc[r * p.channels + c] = 0.0;
    return;
  }
  let s = (r * p.channels + c) * K;
  var acc = select(0.0, conv_bias[c], p.has_conv_bias != 0u);
  for (var k = 0u; k + 1u < K; k++) {
    let old = conv_state[s + k + 1u];
    acc += cw_at(c * K + k) * old;
    conv_state[s + k] = old;
  }
  conv_state[s + K - 1u] = v;
  xbc[r * p.channels + c] = activate(acc + cw_at(c * K + K - 1u) * v);
}
