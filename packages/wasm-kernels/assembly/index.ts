// Every kernel of @mamba2/core's Kernels interface, over one imported memory laid out by JS.
export { add } from "./add";
export { argmax } from "./argmax";
export { causal_conv1d } from "./causal-conv1d";
export { embedding } from "./embedding";
export { gated_rms_norm } from "./gated-rms-norm";
export { halfMap as half_map, halfMapBytes as half_map_bytes, matmul, scratchBytes as matmul_scratch_bytes } from "./matmul";
export { multiply_chain } from "./multiply-chain";
export { rms_norm } from "./rms-norm";
export { scratchBytes as ssd_scratch_bytes, ssd_scan } from "./ssd-scan";
export { ssm_step } from "./ssm-step";
export { read_bandwidth } from "./read-bandwidth";

/** First byte JS may use: static data of the module lies below. */
export function heap_base(): usize {
  return __heap_base;
}
