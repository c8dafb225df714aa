/** Opening a source as a model, web-standard part: `{ config, weights }` in memory, or any ModelFolder. */
import { type ModelFiles, type OpenedModel, openSafetensors, parseConfig } from "@mamba2/core";
import type { ByteInput } from "@mamba2/core";

export function isModelFiles(x: unknown): x is ModelFiles {
  return typeof x === "object" && x !== null && "config" in x && "weights" in x;
}

export async function openFiles(files: ModelFiles): Promise<OpenedModel> {
  const inputs = Array.isArray(files.weights) ? files.weights : [files.weights as ByteInput];
  return { format: "transformers", config: parseConfig(files.config), store: await openSafetensors(inputs), groupedGatedNorm: false, tokenizer: null };
}
