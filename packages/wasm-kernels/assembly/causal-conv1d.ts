// Causal depthwise conv with state over columns [offset, offset + C) of x, then the activation.
// out [B, T, C] f32, x [B, T, stride] f32, w [C, K] f32 | f16 | bf16, bias [C] f32 or 0, state [B, C, K] f32 (the last
// K present inputs, oldest first; updated), mask i32 [B, T] or 0. A present input is pushed into the window and
// out = act(bias + Σ_k w[k]·window[k]); a masked position leaves the window alone and outputs 0.
import { activate, loadW } from "./common";

export function causal_conv1d(out: usize, x: usize, offset: i32, stride: i32, w: usize, wType: i32, bias: usize, state: usize, mask: usize, batch: i32, steps: i32, channels: i32, k: i32, act: i32, part: i32, parts: i32): void {
  const share = (channels + parts - 1) / parts; // thread `part` of `parts` takes its share of the channels
  const c0 = min(channels, part * share);
  const c1 = min(channels, c0 + share);
  for (let b = 0; b < batch; b++) {
    for (let c = c0; c < c1; c++) {
      const s = state + (<usize>(b * channels + c) * <usize>k << 2);
      const wr = w + <usize>c * <usize>k * (wType == 0 ? 4 : 2);
      const bc: f32 = bias ? load<f32>(bias + (<usize>c << 2)) : 0;
      for (let t = 0; t < steps; t++) {
        const row = b * steps + t;
        const dst = out + (<usize>(row * channels + c) << 2);
        if (mask && load<i32>(mask + (<usize>row << 2)) == 0) {
          store<f32>(dst, 0);
          continue;
        }
        memory.copy(s, s + 4, <usize>(k - 1) << 2);
        store<f32>(s + (<usize>(k - 1) << 2), load<f32>(x + (<usize>(row * stride + offset + c) << 2)));
        let acc = bc;
        for (let j = 0; j < k; j++) acc += loadW(wr, j, wType) * load<f32>(s + (<usize>j << 2));
        store<f32>(dst, activate(acc, act));
      }
    }
  }
}
