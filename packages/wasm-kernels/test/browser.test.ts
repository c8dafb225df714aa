// The WASM backend in headless Chromium (Debian's): on a cross-origin isolated page, 1 and 3 threads (Web Workers
// from a Blob URL over one shared memory; the page's main thread spin-waits) give the tiny fixture's golden logits
// and greedy tokens, and so do 2 threads started from inside a Worker (nested workers; the caller blocks in
// Atomics.wait there); without isolation, threads are refused in one line that names the headers. Needs the built
// dist/ of core and wasm-kernels and /usr/bin/chromium.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readGoldens, relErr } from "@mamba2/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Served, serveDir, withChromium } from "@mamba2/browser-test";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const goldens = readGoldens(readFileSync(`${root}fixtures/tiny/golden.safetensors`));
const ids = (k: string) => Array.from(goldens.get(k)!.values);
const info = JSON.parse(readFileSync(`${root}fixtures/tiny/golden.json`, "utf8")) as { new_tokens: number };

let isolated: Served;
let plain: Served;
beforeAll(async () => {
  [isolated, plain] = await Promise.all([serveDir(root, { crossOriginIsolated: true }), serveDir(root)]);
});
afterAll(() => Promise.all([isolated.close(), plain.close()]));

interface Run { threads: number; logits: number[]; tokens: number[] }
interface PageResult { crossOriginIsolated: boolean; runs: Run[]; refused: string | null }

const PAGE = `(async ({ prompt, steps, threads }) => {
  const { core, createWasmBackend } = window.mamba2;
  const runs = [];
  let refused = null;
  for (const n of threads) {
    let backend;
    try {
      backend = await createWasmBackend({ threads: n });
    } catch (e) {
      refused = e.message;
      continue;
    }
    const model = await core.loadModel(location.origin + "/fixtures/tiny/", { backend });
    const logits = Array.from((await model.forward([prompt])).logits);
    const tokens = (await core.generateAll(model, prompt, { maxNewTokens: steps, eosTokenId: null }))[0];
    runs.push({ threads: backend.threads, logits, tokens });
    backend.dispose();
  }
  return { crossOriginIsolated, runs, refused };
})`;

async function inChromium(site: Served, threads: number[]): Promise<PageResult> {
  const prompt = ids("input_ids_a");
  return withChromium(async ({ page, logs }) => {
    await page.goto(`${site.url}packages/wasm-kernels/test/browser.html`);
    await page.waitForFunction(() => document.title === "ready");
    return (page.evaluate(`${PAGE}(${JSON.stringify({ prompt, steps: info.new_tokens, threads })})`) as Promise<PageResult>).catch((e) => {
      throw new Error(`${e}\n${logs.join("\n")}`);
    });
  });
}

// The same inside a dedicated Worker, where the caller blocks in Atomics.wait (its workers are nested). Workers
// have no import map: the worker's module is the backend's dist/ with @mamba2/core's URL written in.
const IN_WORKER = `(async ({ prompt, steps }) => {
  const dist = await (await fetch("/packages/wasm-kernels/dist/index.js")).text();
  const backend = dist.replaceAll('from "@mamba2/core"', \`from "\${location.origin}/packages/core/dist/index.js"\`);
  const main = \`
    import * as core from "\${location.origin}/packages/core/dist/index.js";
    import { createWasmBackend } from "\${URL.createObjectURL(new Blob([backend], { type: "text/javascript" }))}";
    onmessage = async ({ data: { prompt, steps } }) => {
      const backend = await createWasmBackend({ threads: 2 });
      const model = await core.loadModel("\${location.origin}/fixtures/tiny/", { backend });
      const logits = Array.from((await model.forward([prompt])).logits);
      const tokens = (await core.generateAll(model, prompt, { maxNewTokens: steps, eosTokenId: null }))[0];
      backend.dispose();
      postMessage({ threads: backend.threads, logits, tokens });
    };\`;
  const worker = new Worker(URL.createObjectURL(new Blob([main], { type: "text/javascript" })), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage({ prompt, steps });
  });
})`;

describe("wasm in Chromium", () => {
  it("cross-origin isolated: 3 threads give the single thread's logits and the golden tokens", async () => {
    const result = await inChromium(isolated, [1, 3]);
    expect(result.crossOriginIsolated).toBe(true);
    expect(result.refused).toBeNull();
    const [one, three] = result.runs;
    expect([one.threads, three.threads]).toEqual([1, 3]);
    for (const run of result.runs) {
      expect(relErr(run.logits, goldens.get("logits_a_f64")!.values)).toBeLessThan(1e-4);
      expect(run.tokens).toEqual(ids("greedy_tokens_a"));
    }
    // not bit-identical (the parts split the columns and heads at other edges): equal within f32 rounding
    expect(relErr(three.logits, one.logits)).toBeLessThan(1e-5);
  });

  it("cross-origin isolated, inside a Worker: 2 threads give the golden logits and tokens", async () => {
    const prompt = ids("input_ids_a");
    const run = await withChromium(async ({ page, logs }) => {
      await page.goto(`${isolated.url}packages/wasm-kernels/test/browser.html`);
      await page.waitForFunction(() => document.title === "ready");
      return (page.evaluate(`${IN_WORKER}(${JSON.stringify({ prompt, steps: info.new_tokens })})`) as Promise<Run>).catch((e) => {
        throw new Error(`${e}\n${logs.join("\n")}`);
      });
    });
    expect(run.threads).toBe(2);
    expect(relErr(run.logits, goldens.get("logits_a_f64")!.values)).toBeLessThan(1e-4);
    expect(run.tokens).toEqual(ids("greedy_tokens_a"));
  });

  it("not isolated: threads are refused in one line naming the headers, one thread runs", async () => {
    const result = await inChromium(plain, [2, 1]);
    expect(result.crossOriginIsolated).toBe(false);
    expect(result.refused).toBe(
      "WASM threads need a cross-origin isolated page (crossOriginIsolated is false): serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or use threads: 1",
    );
    expect(result.runs.map((r) => r.threads)).toEqual([1]);
    expect(result.runs[0].tokens).toEqual(ids("greedy_tokens_a"));
  });
});
