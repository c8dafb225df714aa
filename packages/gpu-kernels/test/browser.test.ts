// The WebGPU backend in headless Chromium (Debian's, `--enable-unsafe-webgpu` on SwiftShader), through the
// browser's own navigator.gpu: the tiny fixture's logits and greedy tokens against its goldens, with subgroups
// and without. Needs the built dist/ of core and gpu-kernels and /usr/bin/chromium.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readGoldens, relErr } from "@mamba2/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Served, serveDir, withChromium } from "@mamba2/browser-test";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const goldens = readGoldens(readFileSync(`${root}fixtures/tiny/golden.safetensors`));
const ids = (k: string) => Array.from(goldens.get(k)!.values);
const info = JSON.parse(readFileSync(`${root}fixtures/tiny/golden.json`, "utf8")) as { new_tokens: number };

let site: Served;
beforeAll(async () => void (site = await serveDir(root)));
afterAll(() => site.close());

interface PageResult { adapter: string; logits: number[]; tokens: number[]; submits: number }

const PAGE = `(async ({ prompt, steps, subgroups }) => {
  const { core, createWebGpuBackend } = window.mamba2;
  const backend = await createWebGpuBackend({ subgroups });
  const model = await core.loadModel(location.origin + "/fixtures/tiny/", { backend });
  const logits = Array.from((await model.forward([prompt])).logits);
  const tokens = (await core.generateAll(model, prompt, { maxNewTokens: steps, eosTokenId: null }))[0];
  return { adapter: backend.adapter, logits, tokens, submits: backend.submits };
})`;

describe("webgpu in Chromium", () => {
  it.each([true, false])("tiny fixture: logits and greedy tokens (subgroups: %s)", async (subgroups) => {
    const prompt = ids("input_ids_a");
    const result = await withChromium(async ({ page, logs }) => {
      await page.goto(`${site.url}packages/gpu-kernels/test/browser.html`);
      await page.waitForFunction(() => document.title === "ready");
      return (page.evaluate(`${PAGE}(${JSON.stringify({ prompt, steps: info.new_tokens, subgroups })})`) as Promise<PageResult>).catch((e) => {
        throw new Error(`${e}\n${logs.join("\n")}`);
      });
    }, { webgpu: true });
    expect(relErr(result.logits, goldens.get("logits_a_f64")!.values)).toBeLessThan(1e-4);
    expect(result.tokens).toEqual(ids("greedy_tokens_a"));
  });
});
