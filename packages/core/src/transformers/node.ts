/**
 * `@mamba2/core/transformers/node`: the classes of `@mamba2/core/transformers` whose `fromPretrained` and
 * `loadAdapter` also take folders on disk (and file: URLs, Hub downloads kept in the cache folder), and
 * `saveSafetensors(model, dir)`.
 */
import { open, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Tensor } from "../backend.js";
import type { ModelFiles } from "../load.js";
import { openSource } from "../node-source.js";
import { safetensorsHeader } from "../safetensors.js";
import type { ModelSource, SourceOptions } from "../source.js";
import * as web from "./index.js";

export * from "./index.js";

/** Mamba2Model, with folders on disk. */
export class Mamba2Model<T extends Tensor = Tensor> extends web.Mamba2Model<T> {
  static override openFolder(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions) {
    return openSource(source, options);
  }
}

/** Mamba2ForCausalLM, with folders on disk. */
export class Mamba2ForCausalLM<T extends Tensor = Tensor> extends web.Mamba2ForCausalLM<T> {
  static override openFolder(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions) {
    return openSource(source, options);
  }
}

/**
 * Writes `config.json` and `model.safetensors` into `dir` (created if needed) as transformers' save_pretrained
 * does; the tensors are written one at a time, their bytes as they are (a model loads back bit-exactly).
 */
export async function saveSafetensors(model: web.Mamba2PreTrainedModel, dir: string): Promise<void> {
  const { configJson, tensors } = model.checkpoint();
  const head = safetensorsHeader(tensors);
  await mkdir(dir, { recursive: true });
  const fh = await open(join(dir, "model.safetensors"), "w");
  try {
    await fh.write(head);
    for (const t of tensors) await fh.write(await t.bytes());
  } finally {
    await fh.close();
  }
  await writeFile(join(dir, "config.json"), configJson);
}
