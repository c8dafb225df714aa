import * as v8 from "node:v8";
import { Mamba2Error } from "@mamba2/core";
import { TokenizerError } from "@mamba2/tokenizer";
import { parseFlags, UsageError } from "./args.js";
import { BENCH_FLAGS, BENCH_HELP, benchCommand } from "./bench.js";
import { FORWARD_FLAGS, FORWARD_HELP, forwardCommand } from "./forward.js";
import { GENERATE_FLAGS, GENERATE_HELP, generateCommand } from "./generate.js";
import { MODEL_FLAGS } from "./model.js";
import { PERPLEXITY_FLAGS, PERPLEXITY_HELP, perplexityCommand } from "./perplexity.js";
import { QUANTIZE_FLAGS, QUANTIZE_HELP, quantizeCommand } from "./quantize.js";

const COMMANDS = {
  generate: { flags: [...GENERATE_FLAGS, ...MODEL_FLAGS], booleans: ["json", "ignore-eos", "logprobs"], help: GENERATE_HELP, run: generateCommand },
  forward: { flags: [...FORWARD_FLAGS, ...MODEL_FLAGS], booleans: [], help: FORWARD_HELP, run: forwardCommand },
  perplexity: { flags: [...PERPLEXITY_FLAGS, ...MODEL_FLAGS], booleans: [], help: PERPLEXITY_HELP, run: perplexityCommand },
  bench: { flags: BENCH_FLAGS, booleans: ["json", "baseline"], help: BENCH_HELP, run: benchCommand },
  quantize: { flags: QUANTIZE_FLAGS, booleans: [], help: QUANTIZE_HELP, run: quantizeCommand },
};

const USAGE = `Usage: mamba2 <command> [flags]   (mamba2 <command> --help for its flags)

Commands:
  generate     stream a continuation of a prompt (default model: the bundled mamba2-shakespeare)
  forward      write the logits of every position to a file
  perplexity   perplexity of a text file
  bench        prefill and decode speed on a model or on random weights of a released model's shape

--model takes a folder, a Hub id (org/name; --revision, --endpoint or $MAMBA2_ENDPOINT, $HF_TOKEN) or an
http(s) URL of a folder; downloads are kept in $MAMBA2_CACHE (default ~/.cache/mamba2). --adapter DIR applies a
PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) to generate, forward and perplexity.`;

async function main(argv: string[]): Promise<number> {
  const out = (s: string) => void process.stdout.write(s);
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    out(USAGE + "\n");
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name as keyof typeof COMMANDS];
  try {
    if (!command) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(", ")})`);
    const flags = parseFlags(rest, command.flags, command.booleans);
    if (flags.help) {
      out(command.help + "\n");
      return 0;
    }
    await command.run(flags, out);
    return 0;
  } catch (e) {
    // Bad input of any kind (flags, files, ids, shapes): one line, exit code 2.
    if (e instanceof Mamba2Error || e instanceof TokenizerError) {
      process.stderr.write(`mamba2: error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

// Node.js 20 validates WebAssembly relaxed SIMD (the WASM backend's fused-matmul build) only behind V8's flag,
// which Node.js 22 has on: the command turns it on for its own process, before any module is compiled.
try {
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
} catch {
  // a runtime without V8's flags keeps its own default
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    process.stderr.write(`mamba2: internal error: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  },
);
