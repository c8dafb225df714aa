import type { Activation } from "../../config.js";
import { activate } from "../math.js";
import type { RefTensor } from "../tensor.js";

/**
 * Causal depthwise conv with state over columns [offset, offset + C) of x, then the activation.
 * out [B, T, C], x [B, T, S], weight [C, K], bias [C] | null, state [B, C, K] (last K present inputs, oldest
 * first), mask i32 [B, T] | null. A present input is pushed into the window; out = act(bias + Σ_k w[k]·window[k]).
 * A masked position is skipped: the window is unchanged and its output is 0.
 */
export function causalConv1d(
  out: RefTensor, x: RefTensor, offset: number, weight: RefTensor, bias: RefTensor | null,
  state: RefTensor, mask: RefTensor | null, activation: Activation,
): void {
  const [batch, steps, channels] = out.shape;
  const stride = x.shape[x.shape.length - 1];
  const k = weight.shape[1];
  const window = new Float64Array(k);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const s = (b * channels + c) * k;
      for (let j = 0; j < k; j++) window[j] = state.data[s + j];
      for (let t = 0; t < steps; t++) {
        const row = b * steps + t;
        if (mask && mask.data[row] === 0) {
          out.data[row * channels + c] = 0;
          continue;
        }
        window.copyWithin(0, 1);
        window[k - 1] = x.data[row * stride + offset + c];
        let acc = bias ? bias.data[c] : 0;
        for (let j = 0; j < k; j++) acc += weight.data[c * k + j] * window[j];
        out.data[row * channels + c] = activate(acc, activation);
      }
      for (let j = 0; j < k; j++) state.data[s + j] = window[j];
    }
  }
}
