/**
 * What a user gets from npm: each published package packed (`pnpm pack`, workspace versions resolved), the
 * tarballs installed with `npm install --offline` in a fresh project, and the Shakespeare model's greedy text
 * generated from it under Node.js (WASM, and WebGPU through Dawn), Deno (WASM, and its own WebGPU), Bun (WASM)
 * and a Vite production build in headless Chromium (WASM, and WebGPU). WebGPU runs on SwiftShader, a CPU
 * Vulkan driver: slow, so those runs generate fewer tokens. Nothing here touches the network.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { serveDir, withChromium } from "@mamba2/browser-test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const HERE = fileURLToPath(new URL("../", import.meta.url));
const MODEL = join(ROOT, "models/mamba2-shakespeare");
const GOLDEN = (JSON.parse(readFileSync(join(MODEL, "golden.json"), "utf8")) as Record<string, string>)["greedy_text.0"];
const PUBLISHED = ["core", "tokenizer", "wasm-kernels", "gpu-kernels", "runtime"];
const BIN = (name: string) => join(HERE, "node_modules/.bin", name);
/** Dawn (Node) and Deno find SwiftShader's Vulkan driver, shipped by Debian's chromium, through these. */
const VULKAN = { VK_ICD_FILENAMES: "/usr/lib/chromium/vk_swiftshader_icd.json", XDG_RUNTIME_DIR: tmpdir() };

interface Result {
  device: string;
  text: string;
  selection: { device: string; available: boolean; chosen: boolean; reason: string }[];
  progress?: { loaded: number; total: number };
  capabilities?: { webgpu: { features: string[] }; wasm: { simd: boolean }; threads: { available: boolean; reason?: string } };
  error?: string;
}

let dir: string;
let project: string;

/** `npm pack` of a third-party package as installed in the workspace (for the offline install). */
async function packInstalled(from: string, name: string, dest: string): Promise<string> {
  const src = realpathSync(join(ROOT, from, "node_modules", name));
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--pack-destination", dest, src], { cwd: dest });
  return join(dest, stdout.trim().split("\n").at(-1)!);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mamba2-smoke-"));
  const tarballs = join(dir, "tarballs");
  project = join(dir, "project");
  mkdirSync(tarballs);
  mkdirSync(project);
  const deps: Record<string, string> = {};
  for (const pkg of PUBLISHED) {
    const cwd = join(ROOT, "packages", pkg);
    const name = (JSON.parse(readFileSync(join(cwd, "package.json"), "utf8")) as { name: string }).name;
    const { stdout } = await run("pnpm", ["pack", "--pack-destination", tarballs], { cwd });
    deps[name] = `file:${stdout.trim().split("\n").at(-1)}`;
  }
  deps["@huggingface/tokenizers"] = `file:${await packInstalled("packages/tokenizer", "@huggingface/tokenizers", tarballs)}`;
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "smoke", private: true, type: "module", dependencies: deps }));
  await run("npm", ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", join(dir, "npm-cache")], { cwd: project });
  // `webgpu` (Dawn, 130 MB for every platform) is an optional peer a Node.js user adds; linked, not packed.
  symlinkSync(realpathSync(join(HERE, "node_modules/webgpu")), join(project, "node_modules/webgpu"));
  copyFileSync(join(HERE, "fixtures/generate.mjs"), join(project, "generate.mjs"));
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the README example under `cmd` and parses its line. */
async function generate(cmd: string, args: string[], device: string, tokens: number, env: Record<string, string> = {}): Promise<Result> {
  const { stdout } = await run(cmd, [...args, "generate.mjs", MODEL, device, String(tokens)], {
    cwd: project,
    env: { ...process.env, ...env },
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Result;
}

/** The greedy continuation of "ROMEO:\n" is the golden text's beginning, at least `chars` long. */
function expectGolden(r: Result, device: string, chars: number): void {
  expect(r.error).toBeUndefined();
  expect(r.device).toBe(device);
  expect(GOLDEN.startsWith(r.text), `${JSON.stringify(r.text)} is not a prefix of the golden text`).toBe(true);
  expect(r.text.length).toBeGreaterThanOrEqual(chars);
}

describe.sequential("installed from the packed tarballs", () => {
  it("installs only what was packed", () => {
    expect(readdirSync(join(project, "node_modules/@mamba2")).sort()).toEqual(["core", "gpu-kernels", "runtime", "tokenizer", "wasm-kernels"]);
  });

  it("Node.js: auto picks WASM and says why not WebGPU", async () => {
    const r = await generate("node", [], "auto", 24, VULKAN);
    expectGolden(r, "wasm", 60);
    expect(r.selection.map((s) => [s.device, s.chosen])).toEqual([["webgpu", false], ["wasm", true], ["reference", false]]);
    expect(r.selection[0].reason).toMatch(/^software adapter .*swiftshader.*: not chosen, WASM is faster on a CPU/i);
  });

  it("Node.js: WebGPU through Dawn", async () => {
    expectGolden(await generate("node", [], "webgpu", 2, VULKAN), "webgpu", 11);
  });

  it("Node.js: an unavailable device fails with the reason", async () => {
    const failed = await generate("node", [], "webgpu", 2, { VK_ICD_FILENAMES: "/nonexistent.json", XDG_RUNTIME_DIR: tmpdir() }).catch((e: { stderr: string }) => e.stderr);
    expect(failed).toMatch(/Mamba2Error: device "webgpu" is not available: no WebGPU adapter/);
  });

  it("Deno: WASM", async () => {
    expectGolden(await generate(BIN("deno"), ["run", "--allow-all"], "wasm", 24), "wasm", 60);
  });

  it("Deno: its own WebGPU", async () => {
    expectGolden(await generate(BIN("deno"), ["run", "--allow-all"], "webgpu", 2, VULKAN), "webgpu", 11);
  });

  it("Bun: auto picks WASM (Bun has no WebGPU)", async () => {
    const r = await generate(BIN("bun"), [], "auto", 24);
    expectGolden(r, "wasm", 60);
    expect(r.selection[0]).toEqual({ device: "webgpu", available: false, chosen: false, reason: "Bun has no WebGPU" });
  });

  it("a Vite production build in headless Chromium: WASM, and WebGPU", async () => {
    const web = join(project, "web");
    mkdirSync(web);
    for (const f of ["index.html", "main.js"]) copyFileSync(join(HERE, "fixtures", f), join(web, f));
    await run(BIN("vite"), ["build", web, "--outDir", "dist", "--logLevel", "error"], { cwd: project });
    const dist = join(web, "dist");
    mkdirSync(join(dist, "model"));
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(MODEL, f), join(dist, "model", f));
    const site = await serveDir(dist, { crossOriginIsolated: true });
    try {
      const page = (query: string) =>
        withChromium(
          async ({ page, logs }) => {
            await page.goto(`${site.url}?${query}`);
            await page.waitForFunction(() => "result" in window, undefined, { timeout: 480_000 });
            const r = (await page.evaluate(() => (window as unknown as { result: Result }).result)) as Result;
            return r.error ? { ...r, error: `${r.error}\n${logs.join("\n")}` } : r;
          },
          { webgpu: true },
        );
      const wasm = await page("device=auto&n=24");
      expectGolden(wasm, "wasm", 60);
      expect(wasm.selection[0].reason).toMatch(/^software adapter .*swiftshader/i);
      expect(wasm.progress).toEqual({ loaded: 12_522_971, total: 12_522_971 });
      expect(wasm.capabilities?.wasm.simd).toBe(true);
      expect(wasm.capabilities?.webgpu.features).toContain("subgroups");
      // cross-origin isolated (serveDir's COOP/COEP): SharedArrayBuffer exists, the WASM backend's Web Workers can run
      expect(wasm.capabilities?.threads).toMatchObject({ available: true });
      expectGolden(await page("device=webgpu&n=2"), "webgpu", 11);
      // the .wasm is embedded in the bundle: nothing but the page, its script and the model was fetched
      const fetched = new Set(site.requests.map((r) => r.path.replace(/-[\w-]{8}\.js$/, ".js")));
      fetched.delete("/favicon.ico");
      expect([...fetched].sort()).toEqual([
        "/",
        "/assets/index.js",
        "/model/config.json",
        "/model/model.safetensors",
        "/model/tokenizer.json",
        "/model/tokenizer_config.json",
      ]);
    } finally {
      await site.close();
    }
  });
});
