import type { Mamba2Config } from "../config.js";
import { Rng } from "../sampling.js";
import { generatedStore, nameHash } from "../synthetic.js";
import type { TensorStore } from "../weights.js";

/**
 * transformers' initialization of a model built from its config alone (Mamba2PreTrainedModel._init_weights),
 * seeded, each tensor generated when read:
 * - embeddings, in_proj, lm_head ~ N(0, initializer_range²); biases 0; RMSNorm weights 1;
 * - out_proj and conv1d weights kaiming-uniform with a = √5, i.e. U(±1/√fan_in) (fan_in: E, K); out_proj
 *   divided by √num_hidden_layers with rescale_prenorm_residual;
 * - A_log = log(1..H), D = 1, dt_bias = softplus⁻¹(dt) with dt = exp(U(log time_step_min, log time_step_max))
 *   floored at time_step_floor.
 * `shapes`: the tensors to make (transformers' names and shapes).
 */
export function initWeights(config: Mamba2Config, shapes: ReadonlyMap<string, readonly number[]>, seed = 0): TensorStore {
  const std = config.initializer_range;
  const values = (name: string, n: number): Float32Array => {
    const rng = new Rng(seed + nameHash(name));
    const out = new Float32Array(n);
    const uniform = (bound: number) => out.forEach((_, i) => (out[i] = (2 * rng.next() - 1) * bound));
    if (name.endsWith("mixer.A_log")) out.forEach((_, i) => (out[i] = Math.log(i + 1)));
    else if (name.endsWith("mixer.D") || name.endsWith("norm.weight") || name.endsWith("norm_f.weight")) out.fill(1);
    else if (name.endsWith("bias") && !name.endsWith("dt_bias")) out.fill(0);
    else if (name.endsWith("dt_bias")) {
      const [lo, hi] = [Math.log(config.time_step_min), Math.log(config.time_step_max)];
      out.forEach((_, i) => {
        const dt = Math.max(Math.exp(lo + rng.next() * (hi - lo)), config.time_step_floor);
        out[i] = dt + Math.log(-Math.expm1(-dt));
      });
    } else if (name.endsWith("conv1d.weight")) uniform(1 / Math.sqrt(config.conv_kernel));
    else if (name.endsWith("out_proj.weight")) {
      const inner = config.num_heads * config.head_dim;
      uniform(1 / Math.sqrt(inner) / (config.rescale_prenorm_residual ? Math.sqrt(config.num_hidden_layers) : 1));
    } else {
      // Box–Muller: two uniforms → one standard normal
      for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    }
    return out;
  };
  return generatedStore(`Mamba2 initialization (seed ${seed})`, shapes, () => "f32", values);
}
