// WASM threads under Deno and Bun (both from npm): Web Workers from a Blob URL over the shared memory, as in
// browsers. test/threads-elsewhere.mjs runs the tiny fixture on 1 and 2 threads against the built dist/.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readGoldens, relErr } from "@mamba2/core/testing";
import { describe, expect, it } from "vitest";

const here = fileURLToPath(new URL(".", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
const goldens = readGoldens(readFileSync(`${here}../../../fixtures/tiny/golden.safetensors`));
const ids = (k: string) => Array.from(goldens.get(k)!.values);
const info = JSON.parse(readFileSync(`${here}../../../fixtures/tiny/golden.json`, "utf8")) as { new_tokens: number };

interface Run { threads: number; logits: number[]; tokens: number[] }

const COMMANDS: Record<string, string[]> = { deno: [bin("deno"), "run", "--allow-read"], bun: [bin("bun")] };

describe("wasm threads in other runtimes", () => {
  it.each(Object.keys(COMMANDS))("%s: 2 threads give the golden logits and tokens", async (runtime) => {
    const [cmd, ...args] = COMMANDS[runtime];
    const input = JSON.stringify([ids("input_ids_a"), info.new_tokens]);
    const { stdout } = await promisify(execFile)(cmd, [...args, `${here}threads-elsewhere.mjs`, input], { cwd: here, env: { ...process.env, NO_COLOR: "1" } });
    const runs = JSON.parse(stdout) as Run[];
    expect(runs.map((r) => r.threads)).toEqual([1, 2]);
    for (const run of runs) {
      expect(relErr(run.logits, goldens.get("logits_a_f64")!.values)).toBeLessThan(1e-4);
      expect(run.tokens).toEqual(ids("greedy_tokens_a"));
    }
  });
});
