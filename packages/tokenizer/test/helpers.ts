// The bundled model's folder, the corpus, and its goldens.
import { readFileSync } from "node:fs";
import { readGoldens } from "@mamba2/core/testing";

export const MODEL_DIR = new URL("../../../models/mamba2-shakespeare/", import.meta.url);
export const SHAKESPEARE = new URL("../../../data/tinyshakespeare.txt", import.meta.url);

/** An integer golden tensor of the bundled model as a plain number array. */
export function readIntTensor(name: string): number[] {
  const g = readGoldens(readFileSync(new URL("golden.safetensors", MODEL_DIR))).get(name);
  if (!g) throw new Error(`golden ${name} missing`);
  return Array.from(g.values);
}

export function readJsonFile(file: URL): any {
  return JSON.parse(readFileSync(file, "utf8"));
}
