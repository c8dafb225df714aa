import { writeSafetensors } from "../safetensors.js";
import type { Mamba2PreTrainedModel } from "./modeling.js";

/** The checkpoint in memory: `config.json` text and `model.safetensors` bytes (for a download in a browser). */
export async function toSafetensors(model: Mamba2PreTrainedModel): Promise<{ "config.json": string; "model.safetensors": Uint8Array }> {
  const { configJson, tensors } = model.checkpoint();
  const data = await Promise.all(tensors.map(async (t) => ({ ...t, bytes: await t.bytes() })));
  return { "config.json": configJson, "model.safetensors": writeSafetensors(data) };
}
