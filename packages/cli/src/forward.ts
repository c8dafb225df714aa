import { writeFile } from "node:fs/promises";
import { type Flags, parseIds, stringFlag, UsageError } from "./args.js";
import { openModel } from "./model.js";

export const FORWARD_FLAGS = ["model", "ids", "out", "backend", "threads"];

export const FORWARD_HELP = `mamba2 forward --model DIR --ids "1,2,3" --out FILE [--adapter DIR] [--backend auto|webgpu|wasm|reference]

Writes the logits of every position: float32 little-endian, row-major [T, V].`;

export async function forwardCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  const idsText = stringFlag(flags, "ids");
  const file = stringFlag(flags, "out");
  if (idsText === undefined) throw new UsageError("forward needs --ids");
  if (file === undefined) throw new UsageError("forward needs --out FILE");
  const rows = parseIds(idsText);
  if (rows.length !== 1) throw new UsageError("forward takes one row of ids (no ';')");
  const { model } = await openModel(flags);
  const { logits } = await model.forward(rows);
  const bytes = new Uint8Array(logits!.buffer, logits!.byteOffset, logits!.byteLength);
  await writeFile(file, bytes).catch((e: Error) => {
    throw new UsageError(`cannot write ${file}: ${e.message}`);
  });
  out(`wrote ${file}: float32 [${rows[0].length}, ${model.dims.vocab}]\n`);
}
