/**
 * The built playground (run `pnpm --filter playground build` first; turbo does) in headless Chromium: the bundled
 * model on WASM and on WebGPU (SwiftShader), greedy from "ROMEO:\n" against the golden text; the same model from
 * a local Hub-layout server with progress; Stop; a missing and a corrupt file. The app and the Hub stand-in share
 * one origin: paths that are not files of the build go to the Hub server. The app is served under a CSP without
 * 'unsafe-eval' (only 'wasm-unsafe-eval').
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { mimeType, withChromium } from "@mamba2/browser-test";
import { Mamba2Tokenizer } from "@mamba2/runtime";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HubServer, startHub } from "../../../packages/core/test/hub-server.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "../dist");
const OUT = join(HERE, "../test-output");
const MODEL = join(HERE, "../../../models/mamba2-shakespeare");
const PROMPT = "ROMEO:\n";
const GOLDEN = (JSON.parse(readFileSync(join(MODEL, "golden.json"), "utf8")) as Record<string, string>)["greedy_text.0"];
const CONTINUATION = GOLDEN.slice(PROMPT.length);
const TOKENIZER = Mamba2Tokenizer.fromObjects(JSON.parse(readFileSync(join(MODEL, "tokenizer.json"), "utf8")));
/** The golden continuation's tokens: generating that many greedily gives all of it. */
const GOLDEN_IDS = TOKENIZER.encode(CONTINUATION);
const GOLDEN_TOKENS = GOLDEN_IDS.length;
/**
 * Tokens generated on WebGPU in the browser: SwiftShader (Chromium 156) runs a token of this model in ~0.7 s on an
 * idle 2-core machine and several times that beside the other suites, so the page generates the golden's first
 * 24 tokens (its first two lines; the rest repeats the same decode step). In Node, the CLI's tests check this model
 * on WebGPU over 512 tokens (perplexity against the reference) and gpu-kernels' the fixtures' goldens.
 */
const WEBGPU_TOKENS = 24;
const file = (name: string) => new Uint8Array(readFileSync(join(MODEL, name)));

let hub: HubServer;
let site: { url: string; close(): Promise<void> };

/** What a strict site would send: no eval, WebAssembly compiled (the worker's CSP comes from its own response). */
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'";

/** Serves DIST under CSP; every other path is passed to the Hub stand-in (same origin, so no CORS). */
async function serveWithHub(hubUrl: string): Promise<typeof site> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, "http://x").pathname);
    const local = normalize(join(DIST, path.endsWith("/") ? `${path}index.html` : path));
    if (local.startsWith(DIST) && existsSync(local) && !path.startsWith("/lfs/")) {
      res.writeHead(200, { "content-type": mimeType(local), "content-security-policy": CSP }).end(readFileSync(local));
      return;
    }
    const upstream = request(new URL(req.url!, hubUrl), { method: req.method, headers: { ...req.headers, host: new URL(hubUrl).host } }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

beforeAll(async () => {
  if (!existsSync(join(DIST, "index.html"))) throw new Error(`${DIST} is missing: run pnpm --filter playground build first`);
  mkdirSync(OUT, { recursive: true });
  hub = await startHub({ "test/shakespeare": { "config.json": file("config.json"), "tokenizer.json": file("tokenizer.json"), "model.safetensors": file("model.safetensors") } });
  site = await serveWithHub(hub.url);
});
afterAll(async () => {
  await site?.close();
  await hub?.close();
});

const state = (page: Page) => page.evaluate(() => document.body.dataset.state);
const text = (page: Page, id: string) => page.locator(`#${id}`).evaluate((e) => e.textContent ?? "");

async function open(page: Page): Promise<void> {
  await page.goto(site.url);
  await page.waitForFunction(() => document.body.dataset.state === "idle");
}

async function load(page: Page, device: string): Promise<void> {
  await page.selectOption("#device", device);
  await page.click("#load");
  await page.waitForFunction(() => document.body.dataset.state !== "loading", null, { timeout: 120_000 });
}

/** Greedy generation of `n` tokens; the streamed text. */
async function generateGreedy(page: Page, n: number): Promise<string> {
  await page.fill("#prompt", PROMPT);
  await page.fill("#max-tokens", String(n));
  await page.fill("#temperature", "0");
  await page.click("#run");
  await page.waitForFunction(() => document.body.dataset.state !== "generating", null, { timeout: 480_000 });
  expect(await state(page), await text(page, "error")).toBe("ready");
  return text(page, "generated");
}

describe("playground (built app in headless Chromium)", () => {
  it("bundled model on WASM: the greedy text is the golden text; fits a phone's width; screenshot", async () => {
    await withChromium(async ({ page, logs }) => {
      await page.setViewportSize({ width: 900, height: 1000 });
      await open(page);
      await load(page, "wasm");
      expect(await state(page), `${await text(page, "error")}\n${logs.join("\n")}`).toBe("ready");
      expect(await text(page, "status")).toMatch(/^Loaded mamba2-shakespeare \(bundled\) on wasm in [\d.]+ s\.$/);
      expect(await text(page, "selection li[data-device=wasm]")).toMatch(/^wasm \(chosen\): chosen: SIMD/);
      expect(await text(page, "capabilities")).toContain("SIMD");
      const bars = await page.$$eval("#progress progress", (ps) => ps.map((p) => [p.getAttribute("aria-label"), (p as HTMLProgressElement).value, p.dataset.state]));
      expect(bars).toEqual(expect.arrayContaining([["Download of model.safetensors", 1, "done"], ["Download of config.json", 1, "done"], ["Download of tokenizer.json", 1, "done"]]));

      const generated = await generateGreedy(page, GOLDEN_TOKENS);
      expect(generated).toBe(CONTINUATION);
      expect(await text(page, "stats")).toMatch(/^prefill \d+ tokens: [\d.]+ tokens\/s · decode \d+ tokens: [\d.]+ tokens\/s$/);
      await page.screenshot({ path: join(OUT, "screenshot.png"), fullPage: true });
      expect(logs.filter((l) => /Content Security Policy|pageerror/.test(l))).toEqual([]);

      await page.setViewportSize({ width: 360, height: 740 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    });
  });

  it("bundled model on WebGPU (SwiftShader): the greedy text of 24 tokens equals the golden text's first 24", async () => {
    await withChromium(
      async ({ page, logs }) => {
        await open(page);
        expect(await page.isHidden("#webgpu-missing")).toBe(true);
        await load(page, "webgpu");
        expect(await state(page), `${await text(page, "error")}\n${logs.join("\n")}`).toBe("ready");
        expect(await text(page, "selection li[data-device=webgpu]")).toMatch(/^webgpu \(chosen\): /);
        expect(await generateGreedy(page, WEBGPU_TOKENS)).toBe(TOKENIZER.decode(GOLDEN_IDS.slice(0, WEBGPU_TOKENS)));
      },
      { webgpu: true },
    );
  });

  it("without WebGPU: a clear message, and auto runs WASM", async () => {
    await withChromium(async ({ page }) => {
      await page.addInitScript(() => Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined }));
      await open(page);
      expect(await page.isVisible("#webgpu-missing")).toBe(true);
      expect(await text(page, "webgpu-missing")).toMatch(/^WebGPU is not available here \(.+\): models run on WebAssembly/);
      await load(page, "auto");
      expect(await state(page), await text(page, "error")).toBe("ready");
      expect(await text(page, "selection li[data-device=wasm]")).toMatch(/^wasm \(chosen\): /);
      expect(await text(page, "selection li[data-device=webgpu]")).toMatch(/^webgpu: /);
    });
  });

  it("a Hub id from a local Hub-layout server, with download progress, then from the cache; Stop ends a long generation", async () => {
    await withChromium(async ({ page }) => {
      await open(page);
      await page.fill("#remote-source", "test/shakespeare");
      await page.fill("#endpoint", site.url.slice(0, -1));
      await page.evaluate(() => {
        (window as unknown as { seen: string[] }).seen = [];
        new MutationObserver(() => {
          for (const t of document.querySelectorAll("#progress .file span")) (window as unknown as { seen: string[] }).seen.push(t.textContent ?? "");
        }).observe(document.getElementById("progress")!, { subtree: true, childList: true, characterData: true });
      });
      await load(page, "wasm");
      expect(await state(page), await text(page, "error")).toBe("ready");
      expect(await text(page, "status")).toMatch(/^Loaded test\/shakespeare on wasm/);
      const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      expect(seen.some((s) => /^downloading: /.test(s))).toBe(true);
      expect(await page.$$eval("#progress .file span", (s) => s.map((x) => x.textContent))).toEqual(
        expect.arrayContaining(["done: 11.9 MB / 11.9 MB"]),
      );
      expect(hub.log.some((l) => l.path.startsWith("/test/shakespeare/resolve/main/model.safetensors"))).toBe(true);
      // loaded again: from the browser's Cache API, no byte of the weights fetched
      const fetched = hub.log.filter((l) => l.path.includes("model.safetensors")).length;
      await load(page, "wasm");
      expect(await state(page), await text(page, "error")).toBe("ready");
      expect(await page.$$eval("#progress .file span", (s) => s.map((x) => x.textContent))).toEqual(
        expect.arrayContaining(["cached: 11.9 MB / 11.9 MB"]),
      );
      expect(hub.log.filter((l) => l.path.includes("model.safetensors")).length).toBe(fetched);

      expect(await generateGreedy(page, 8)).toBe(CONTINUATION.slice(0, (await text(page, "generated")).length));

      await page.fill("#max-tokens", "100000");
      await page.click("#run");
      await page.waitForFunction(() => (document.getElementById("generated")!.textContent ?? "").length > 0);
      expect(await state(page), await text(page, "status")).toBe("generating");
      await page.click("#stop");
      await page.waitForFunction(() => document.body.dataset.state !== "generating", null, { timeout: 10_000 });
      expect(await text(page, "status")).toBe("Stopped.");
      expect((await text(page, "generated")).length).toBeLessThan(100_000);
    });
  });

  it("local files: dropped files load and generate; a missing config.json and a corrupt safetensors file are one readable line", async () => {
    await withChromium(async ({ page }) => {
      await open(page);
      await page.evaluate(async () => {
        const dt = new DataTransfer();
        for (const name of ["config.json", "tokenizer.json", "model.safetensors"]) {
          const blob = await (await fetch(`models/mamba2-shakespeare/${name}`)).blob();
          dt.items.add(new File([blob], name));
        }
        document.getElementById("drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      await page.waitForFunction(() => document.getElementById("picked")!.textContent !== "");
      expect(await text(page, "picked")).toBe("3 files: config.json, tokenizer.json, model.safetensors");
      await load(page, "wasm");
      expect(await state(page), await text(page, "error")).toBe("ready");
      expect(await text(page, "status")).toMatch(/^Loaded 3 local files on wasm/);
      const generated = await generateGreedy(page, 8);
      expect(generated.length).toBeGreaterThan(10);
      expect(generated).toBe(CONTINUATION.slice(0, generated.length));
      // picked from disk by path: Chromium reads them itself (a buffer would cross the DevTools protocol in base64,
      // which took over 30 s for the 11.9 MB model on a loaded 2-core machine)
      const pick = (set: string, files: [string, Uint8Array][]) => {
        const dir = join(OUT, set);
        mkdirSync(dir, { recursive: true });
        for (const [name, b] of files) writeFileSync(join(dir, name), b);
        return page.setInputFiles("#files", files.map(([name]) => join(dir, name)));
      };

      await pick("missing-config", [["model.safetensors", file("model.safetensors")], ["tokenizer.json", file("tokenizer.json")]]);
      await load(page, "wasm");
      expect(await state(page)).toBe("error");
      const missing = await text(page, "error");
      expect(missing).toMatch(/config\.json/);
      expect(missing).not.toContain("\n");

      await pick("corrupt-weights", [["config.json", file("config.json")], ["tokenizer.json", file("tokenizer.json")], ["model.safetensors", file("model.safetensors").slice(0, 4096)]]);
      await load(page, "wasm");
      expect(await state(page)).toBe("error");
      const corrupt = await text(page, "error");
      expect(corrupt).toMatch(/model\.safetensors/);
      expect(corrupt).not.toContain("\n");
      console.log(`missing: ${missing}\ncorrupt: ${corrupt}`);
    });
  });
});
