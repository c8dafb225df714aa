import { copyFile, mkdir, open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { modelToGguf, parseJson, QUANT_DTYPES, type QuantDType } from "@mamba2/core";
import { openModelPath } from "@mamba2/core/node";
import { type Flags, stringFlag, UsageError } from "./args.js";
import { BUNDLED_MODEL } from "./model.js";

export const QUANTIZE_FLAGS = ["model", "to", "out"];

export const QUANTIZE_HELP = `mamba2 quantize [--model DIR|FILE.gguf] --to ${QUANT_DTYPES.join("|")} --out DIR

Writes DIR/model.gguf: a GGUF of arch mamba2 as llama.cpp lays it out, with in_proj, out_proj, the embeddings and
lm_head in the chosen block type and everything else f32 (as llama-quantize --pure), the config and a byte-level
BPE tokenizer in its metadata; tokenizer.json and tokenizer_config.json are copied next to it. DIR then loads
with --model DIR (or the file with --model DIR/model.gguf, here and in llama.cpp).`;

export async function quantizeCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  const to = stringFlag(flags, "to");
  const dir = stringFlag(flags, "out");
  if (to === undefined || !(QUANT_DTYPES as string[]).includes(to)) throw new UsageError(`quantize needs --to ${QUANT_DTYPES.join("|")}${to === undefined ? "" : `, found '${to}'`}`);
  if (dir === undefined) throw new UsageError("quantize needs --out DIR");
  const source = stringFlag(flags, "model") ?? BUNDLED_MODEL;
  const opened = await openModelPath(source);
  const tokenizerFile = join(source, "tokenizer.json");
  const isFolder = (await stat(source)).isDirectory();
  const hasTokenizer = isFolder && (await stat(tokenizerFile).then((s) => s.isFile(), () => false));
  const tokenizer = hasTokenizer ? parseJson(await readFile(tokenizerFile, "utf8"), tokenizerFile) : opened.tokenizer?.json;
  const chunks = await modelToGguf(opened, to as QuantDType, tokenizer);
  await mkdir(dir, { recursive: true }).catch((e: Error) => {
    throw new UsageError(`cannot create ${dir}: ${e.message}`);
  });
  const file = join(dir, "model.gguf");
  const fh = await open(file, "w");
  let bytes = 0;
  try {
    for (const c of chunks) {
      await fh.write(c);
      bytes += c.byteLength;
    }
  } finally {
    await fh.close();
  }
  if (hasTokenizer) {
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
      if (await stat(join(source, f)).then((s) => s.isFile(), () => false)) await copyFile(join(source, f), join(dir, f));
    }
  }
  out(`wrote ${file}: ${to}, ${(bytes / 2 ** 20).toFixed(2)} MiB\n`);
}
