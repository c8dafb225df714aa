// The main entry in headless Chromium (Debian's, through @mamba2/browser-test): a Hub id with the real Cache API
// and fetch's opaque redirects, a URL read with Range requests, and File objects; each generates the golden ids.
// Needs a build of core (dist/) and /usr/bin/chromium.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withChromium } from "../../browser-test/src/index.js";
import { fixtureDir, goldensOf, ints } from "./helpers.js";
import { type HubServer, startHub } from "./hub-server.js";

const dir = fixtureDir("../models/mamba2-shakespeare");
const golden = goldensOf(dir);
const files = Object.fromEntries(["config.json", "model.safetensors"].map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));

let server: HubServer;
beforeAll(async () => void (server = await startHub({ "test/shakespeare": files, "test/shakespeare@v1.0": files }, { dist: fileURLToPath(new URL("../dist/", import.meta.url)) })));
afterAll(() => server.close());

interface PageResult {
  hub: number[];
  again: number[];
  states: string[];
  cached: string[];
  url: number[];
  files: number[];
}

// Run in the page as text (vitest would rewrite a function's dynamic import).
const PAGE = `(async () => {
  const core = await import(location.origin + "/dist/index.js");
  const greedy = async (model) => (await core.generateAll(model, PROMPT, { maxNewTokens: 64, eosTokenId: null }))[0];
  const states = [];
  const hub = await greedy(await core.loadModel("test/shakespeare", { endpoint: location.origin, onProgress: (e) => states.push(e.state) }));
  await fetch("/mark");
  const cached = [];
  const again = await greedy(await core.loadModel("test/shakespeare", { endpoint: location.origin, onProgress: (e) => cached.push(e.state) }));
  await fetch("/mark");
  const url = await greedy(await core.loadModel(location.origin + "/test/shakespeare/resolve/main/"));
  const picked = await Promise.all(["config.json", "model.safetensors"].map(async (f) =>
    new File([await (await fetch("/test/shakespeare/resolve/main/" + f)).blob()], f)));
  return { hub, again, states, cached, url, files: await greedy(await core.loadModel(picked)) };
})()`;

// Without the tree API: sizes and sha256 come from the redirect's headers, which a browser sees only as an opaque
// redirect (then followed again).
const NO_API = `(async () => {
  const core = await import(location.origin + "/dist/index.js");
  const model = await core.loadModel("test/shakespeare", { endpoint: location.origin, revision: "v1.0" });
  return (await core.generateAll(model, PROMPT, { maxNewTokens: 64, eosTokenId: null }))[0];
})()`;

describe("in a browser", () => {
  it("loads from the Hub (then from the Cache API), a URL and File objects", async () => {
    const prompt = ints(golden.get("prompt_ids.0")!);
    const result = await withChromium(async ({ page, logs }) => {
      await page.goto(server.url);
      const run = <T>(script: string) =>
        (page.evaluate(script.replace("PROMPT", JSON.stringify(prompt))) as Promise<T>).catch((e) => {
          throw new Error(`${e}\n${logs.join("\n")}`);
        });
      const first = await run<PageResult>(PAGE);
      server.options.api = false;
      return { ...first, noApi: await run<number[]>(NO_API) };
    });
    const expected = ints(golden.get("greedy_ids.0")!);
    expect(result).toMatchObject({ hub: expected, again: expected, url: expected, files: expected, noApi: expected });
    expect(server.log.filter((l) => l.path.includes("/v1.0/model.safetensors")).map((l) => `${l.method} ${l.status} ${l.path}`)).toEqual([
      "HEAD 302 /test/shakespeare/resolve/v1.0/model.safetensors", // has(): an opaque redirect means it exists
      "GET 302 /test/shakespeare/resolve/v1.0/model.safetensors", // redirect: manual, opaque
      "GET 302 /test/shakespeare/resolve/v1.0/model.safetensors", // followed
      "GET 200 /lfs/test/shakespeare/v1.0/model.safetensors",
    ]);
    expect(result.states[0]).toBe("pending");
    expect(result.states.at(-1)).toBe("done");
    expect(result.cached).toEqual(["pending", "cached", "pending", "cached"]);
    const marks = server.log.flatMap((l, i) => (l.path === "/mark" ? [i] : []));
    expect(server.log.slice(marks[0] + 1, marks[1]).map((l) => l.path)).toEqual([]);
    const hubGets = server.log.slice(0, marks[0]).filter((l) => !l.path.startsWith("/dist/") && l.path !== "/");
    expect(hubGets.map((l) => `${l.status} ${l.path}`)).toEqual([
      "200 /api/models/test/shakespeare/tree/main?recursive=true",
      "200 /test/shakespeare/resolve/main/config.json",
      "302 /test/shakespeare/resolve/main/model.safetensors",
      "200 /lfs/test/shakespeare/main/model.safetensors",
    ]);
    const ranged = server.log.slice(marks[1]).filter((l) => l.path.startsWith("/lfs/") && l.status === 206);
    expect(ranged.length).toBeGreaterThan(10);
  });
});
