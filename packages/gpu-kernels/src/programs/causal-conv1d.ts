import { type Activation, fail } from "@mamba2/core";
import activationSource from "../shaders/activation.wgsl";
import source from "../shaders/causal-conv1d.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, weightAccess } from "../wgsl.js";
import { type Context, groupsOf, header, storedDType } from "./context.js";

/** The ACT constant of activation.wgsl. */
export const ACT: Record<Activation, number> = { silu: 0, swish: 0, relu: 1, identity: 2 };
const TB = 16; // positions per invocation of `main` (as in the shader)

/** Causal conv over columns [offset, offset + C) of x: the outputs, then (for T > TB) the state update. */
export function causalConv1d(
  ctx: Context, out: GpuTensor, x: GpuTensor, offset: number, w: GpuTensor, bias: GpuTensor | null,
  state: GpuTensor, mask: GpuTensor | null, activation: Activation,
): void {
  const [batch, steps, channels] = out.shape;
  const k = w.shape[1];
  const dtype = storedDType(w);
  if (w.parts.length > 1) fail(`the conv weight [${w.shape.join(", ")}] is split across buffers (weightPartBytes is below its size)`);
  const key = `causal-conv1d/${dtype}/${k}/${ACT[activation]}`;
  const code = () => compose(header({ K: k, ACT: ACT[activation] }), weightAccess("weight", 6, dtype, false), activationSource, source);
  const params = new Params().u32(batch, steps, channels, x.shape[x.shape.length - 1], offset, bias ? 1 : 0, mask ? 1 : 0).bytes();
  const bindings = [out, state, x, bias ?? ctx.dummy, mask ?? ctx.dummy, w].map((t) => t.parts[0]);
  ctx.runner.dispatch({ key, source: code, params, bindings, workgroups: groupsOf(batch * Math.ceil(steps / TB) * channels) });
  const [, stateB, xB, , maskB] = bindings;
  if (steps > TB) ctx.runner.dispatch({ key, entry: "update_state", source: code, params, bindings: [null, stateB, xB, null, maskB], workgroups: groupsOf(batch * channels) });
}
