/**
 * `@mamba2/core/transformers`: transformers' Mamba2 API in TypeScript — Mamba2Config, Mamba2Model,
 * Mamba2ForCausalLM, Mamba2Cache — and PEFT LoRA adapters. Web-standard; `@mamba2/core/transformers/node`
 * adds paths on disk and `saveSafetensors`.
 */
export { Mamba2Cache } from "../cache.js";
export type { HostTensor } from "../host-tensor.js";
export { checkLora, LORA_TARGETS, loraAdapter, mergeLora, openLoraAdapter, type LoraAdapter, type LoraModule } from "../lora.js";
export { Mamba2Config, type Mamba2ConfigFields, type Mamba2ConfigInit } from "./config.js";
export { initWeights } from "./init.js";
export {
  causalLmLoss, Mamba2ForCausalLM, Mamba2Model, Mamba2PreTrainedModel,
  type AdapterOptions, type AdapterSource, type CausalLMInputs, type CausalLMOutput, type CheckpointTensor, type FromPretrainedOptions,
  type GenerationOptions, type InitOptions, type Mamba2Inputs, type Mamba2Output, type SourceResolver,
} from "./modeling.js";
export { toSafetensors } from "./save.js";
