// Run by test/runtimes.test.ts under Deno and Bun: the tiny fixture on 1 and 2 threads (Web Workers from a Blob
// URL there), printed as one JSON line.
import { readFileSync } from "node:fs";
import { generateAll, loadModel } from "@mamba2/core";
import { createWasmBackend } from "@mamba2/wasm-kernels";

const dir = new URL("../../../fixtures/tiny/", import.meta.url);
const files = { config: readFileSync(new URL("config.json", dir), "utf8"), weights: new Blob([readFileSync(new URL("model.safetensors", dir))]) };
const [prompt, steps] = JSON.parse(process.argv[2]);

async function main() {
  const runs = [];
  for (const threads of [1, 2]) {
    const backend = await createWasmBackend({ threads });
    const model = await loadModel(files, { backend });
    const logits = Array.from((await model.forward([prompt])).logits);
    const tokens = (await generateAll(model, prompt, { maxNewTokens: steps, eosTokenId: null }))[0];
    runs.push({ threads: backend.threads, logits, tokens });
    backend.dispose();
  }
  console.log(JSON.stringify(runs));
}
main();
