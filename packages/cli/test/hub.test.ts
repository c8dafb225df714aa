// --model as a Hub id or a URL, against a local stand-in for the Hub: the golden text, progress on stderr,
// the second run served from $MAMBA2_CACHE, and the one-line errors.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HubServer, startHub } from "../../core/test/hub-server.js";
import { root, shakespeare } from "./helpers.js";

const golden = JSON.parse(readFileSync(join(shakespeare, "golden.json"), "utf8"))["greedy_text.0"] as string;
const files = Object.fromEntries(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"].map((f) => [f, new Uint8Array(readFileSync(join(shakespeare, f)))]));

let server: HubServer;
let cache: string;
beforeAll(async () => {
  server = await startHub({ "test/shakespeare": files });
  cache = mkdtempSync(join(tmpdir(), "mamba2-cli-cache-"));
});
afterAll(async () => {
  await server.close();
  rmSync(cache, { recursive: true, force: true });
});

/** The built command, run without blocking this process (which serves the files). */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(root, "packages/cli/dist/main.js"), ...args], { env: { ...process.env, MAMBA2_CACHE: cache, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const greedy = ["generate", "--prompt", "ROMEO:\n", "--temperature", "0", "--max-new-tokens", "64", "--backend", "wasm"];
/** Our lines on stderr (a backend may add its own). */
const ours = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("mamba2: "));

describe("--model from the Hub or a URL", () => {
  it("downloads a Hub id once (progress on stderr), then runs from the cache", async () => {
    const first = await run([...greedy, "--model", "test/shakespeare"], { MAMBA2_ENDPOINT: server.url });
    expect([first.code, first.stdout]).toEqual([0, golden + "\n"]);
    expect(ours(first.stderr).filter((l) => !/ fetching /.test(l))).toEqual([
      "mamba2: config.json fetched, 0.8/0.8 kB",
      "mamba2: model.safetensors fetched, 12.5/12.5 MB (all files: 12.5/12.5 MB)",
      "mamba2: tokenizer.json fetched, 122.2/122.2 kB (all files: 12.6/12.6 MB)",
      "mamba2: tokenizer_config.json fetched, 0.2/0.2 kB (all files: 12.6/12.6 MB)",
    ]);
    const requests = server.log.length;
    const second = await run([...greedy, "--model", "test/shakespeare", "--endpoint", server.url, "--revision", "main"]);
    expect([second.code, second.stdout, ours(second.stderr)]).toEqual([0, golden + "\n", []]);
    expect(server.log.length).toBe(requests);
  });

  it("reads a URL of a folder", async () => {
    const r = await run([...greedy, "--model", `${server.url}/test/shakespeare/resolve/main/`]);
    expect([r.code, r.stdout]).toEqual([0, golden + "\n"]);
  });

  it("reports a missing repository file and a misplaced --revision in one line", async () => {
    const r = await run([...greedy, "--model", "test/nothing", "--endpoint", server.url]);
    expect([r.code, ours(r.stderr)]).toEqual([2, ["mamba2: error: test/nothing@main: not a model folder (no config.json, params.json or .gguf file)"]]);
    const local = await run([...greedy, "--model", shakespeare, "--revision", "v1"]);
    expect([local.code, ours(local.stderr)]).toEqual([2, [`mamba2: error: --revision applies to a Hub id or URL, not the folder ${shakespeare}`]]);
  });
});
