// Causal depthwise conv with state over columns [offset, offset + C) of x, then the activation.
// out [B, T, C], x [B, T, S], weight [C, K], bias [C] (read when has_bias), state [B, C, K] (the last K
// present inputs, oldest first), mask i32 [B, T] (read when has_mask; 0 = absent: no push, output 0).
//   `main`: one invocation per (b, c, block of TB positions); its window (win[1..K−1]) starts as the K − 1
//           present inputs before the block (searched backwards in x, then taken from the old state).
//   `update_state`: one invocation per (b, c), run after `main` when T > TB: the state becomes the last K present
//           inputs (with T ≤ TB, `main` updates the state itself: one dispatch per decode step).
// Completed by programs/causal-conv1d.ts with GRID, `weight_at`, `activate` (activation.wgsl) and the constants K
// and ACT.
struct Params { batch: u32, steps: u32, channels: u32, x_stride: u32, offset: u32, has_bias: u32, has_mask: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<i32>;

const TB = 16u;

fn present(b: u32, t: u32) -> bool { return p.has_mask == 0u || mask[b * p.steps + t] != 0; }
fn input(b: u32, t: u32, c: u32) -> f32 { return x[(b * p.steps + t) * p.x_stride + p.offset + c]; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = grid_index(wg, nwg) * 256u + lid;
  let blocks = (p.steps + TB - 1u) / TB;
  if (i >= p.batch * blocks * p.channels) { return; }
  let c = i % p.channels;
  let b = i / (p.channels * blocks);
  let t0 = ((i / p.channels) % blocks) * TB;
  var win: array<f32, K>;
  var found = 0u;
  for (var t = t0; t > 0u && found < K - 1u; t--) {
    if (present(b, t - 1u)) { win[K - 1u - found] = input(b, t - 1u, c); found++; }
  }
  let s = (b * p.channels + c) * K;
  for (var j = 0u; found + j < K - 1u; j++) { win[K - 1u - found - j] = state[s + K - 1u - j]; }
  var bias_c = 0.0;
  if (p.has_bias != 0u) { bias_c = bias[c]; }
  var pushed = false;
  for (var t = t0; t < min(t0 + TB, p.steps); t++) {
    let o = (b * p.steps + t) * p.channels + c;
    if (!present(b, t)) { out[o] = 0.0; continue; }
    for (var k = 0u; k + 1u < K; k++) { win[k] = win[k + 1u]; }
    win[K - 1u] = input(b, t, c);
    pushed = true;
    var acc = bias_c;
    for (var k = 0u; k < K; k++) { acc += weight_at(c * K + k) * win[k]; }
    out[o] = activate(acc);
  }
  // one block (T ≤ TB, decode): this invocation saw every position, its window is the new state
  if (blocks == 1u && pushed) { for (var k = 0u; k < K; k++) { state[s + k] = win[k]; } }
}

@compute @workgroup_size(256)
fn update_state(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = grid_index(wg, nwg) * 256u + lid;
  if (i >= p.batch * p.channels) { return; }
  let c = i % p.channels;
  let b = i / p.channels;
  let s = (b * p.channels + c) * K;
  var win: array<f32, K>;
  var found = 0u;
  for (var t = p.steps; t > 0u && found < K; t--) {
    if (present(b, t - 1u)) { win[K - 1u - found] = input(b, t - 1u, c); found++; }
  }
  for (var j = 0u; found + j < K; j++) { win[K - 1u - found - j] = state[s + K - 1u - j]; }
  for (var k = 0u; k < K; k++) { state[s + k] = win[k]; }
}
