// Model sources: the Hub (a local stand-in server), plain URLs with and without Range, File objects, the download
// caches (a folder, the Cache API), resumable and verified downloads, progress events, one loadModel for all.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { browserCache, filesFolder, generateAll, hubFolder, loadModel as loadModelWeb, Sha256, urlFolder, type Mamba2Model, type ProgressEvent } from "../src/index.js";
import { fileCache, loadModel, nodeFolder } from "../src/node.js";
import { fixtureDir, goldensOf, ints } from "./helpers.js";
import { type HubServer, type Repos, shard, startHub } from "./hub-server.js";

const dir = fixtureDir("../models/mamba2-shakespeare");
const golden = goldensOf(dir);
const read = (f: string) => new Uint8Array(readFileSync(join(dir, f)));
const files = { "config.json": read("config.json"), "model.safetensors": read("model.safetensors"), "tokenizer.json": read("tokenizer.json"), "tokenizer_config.json": read("tokenizer_config.json") };
const WEIGHTS = files["model.safetensors"].length; // 12522144
const CONFIG = files["config.json"].length;
const repos: Repos = {
  "test/shakespeare": files,
  "test/shakespeare@v1.0": files,
  "test/sharded": { "config.json": files["config.json"], ...shard(files["model.safetensors"], 3) },
  "test/no-weights": { "config.json": files["config.json"] },
};

async function expectGolden(model: Mamba2Model) {
  const [tokens] = await generateAll(model, ints(golden.get("prompt_ids.0")!), { maxNewTokens: 64, eosTokenId: null });
  expect(tokens).toEqual(ints(golden.get("greedy_ids.0")!));
}

let tmp: string;
let server: HubServer | undefined;
const hub = async (options?: Parameters<typeof startHub>[1]) => (server = await startHub(repos, options));
const gets = (s: HubServer) => s.log.filter((l) => l.method === "GET");
beforeAll(() => void (tmp = mkdtempSync(join(tmpdir(), "mamba2-sources-"))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.unstubAllGlobals();
});
let n = 0;
const freshCache = () => fileCache(join(tmp, `cache-${++n}`));

/** Checks the events of one load: each file pending → downloading… → done (or pending → cached), totals last. */
function checkProgress(events: ProgressEvent[], sizes: Record<string, number>, end: "done" | "cached") {
  for (const [file, size] of Object.entries(sizes)) {
    const mine = events.filter((e) => e.file === file);
    expect(mine[0].state, file).toBe("pending");
    expect(mine.at(-1), file).toMatchObject({ state: end, loaded: size, total: size });
    const middle = mine.slice(1, -1);
    expect(middle.every((e) => e.state === "downloading"), file).toBe(true);
    for (let i = 1; i < middle.length; i++) expect(middle[i].loaded).toBeGreaterThan(middle[i - 1].loaded);
  }
  expect(new Set(events.map((e) => e.file))).toEqual(new Set(Object.keys(sizes)));
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  expect(events.at(-1)).toMatchObject({ totalLoaded: total, totalBytes: total });
  for (let i = 1; i < events.length; i++) expect(events[i].totalLoaded).toBeGreaterThanOrEqual(events[i - 1].totalLoaded);
}

describe("Hub repositories", () => {
  it("loads org/name, generates the golden text, and loads again from the cache folder without a request", async () => {
    const s = await hub();
    const cache = freshCache();
    const events: ProgressEvent[] = [];
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache, onProgress: (e) => events.push(e) }));
    expect(gets(s).map((l) => `${l.status} ${l.path}`)).toEqual([
      "200 /api/models/test/shakespeare/tree/main?recursive=true",
      "200 /test/shakespeare/resolve/main/config.json",
      "302 /test/shakespeare/resolve/main/model.safetensors",
      "200 /lfs/test/shakespeare/main/model.safetensors",
    ]);
    checkProgress(events, { "config.json": CONFIG, "model.safetensors": WEIGHTS }, "done");
    expect(existsSync(join(cache.name, "hub", s.url.slice(7).replace(":", "_"), "test/shakespeare/main/model.safetensors"))).toBe(true);

    const before = s.log.length;
    const again: ProgressEvent[] = [];
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache, onProgress: (e) => again.push(e) }));
    expect(s.log.length).toBe(before);
    checkProgress(again, { "config.json": CONFIG, "model.safetensors": WEIGHTS }, "cached");
    expect(again.map((e) => e.state)).toEqual(["pending", "cached", "pending", "cached"]);
  });

  it("loads sharded weights (model.safetensors.index.json and three shards)", async () => {
    const s = await hub();
    const events: ProgressEvent[] = [];
    await expectGolden(await loadModel("test/sharded", { endpoint: s.url, cache: freshCache(), onProgress: (e) => events.push(e) }));
    const shards = Object.keys(repos["test/sharded"]).filter((f) => f.endsWith(".safetensors"));
    expect(shards).toHaveLength(3);
    expect(gets(s).filter((l) => l.path.startsWith("/lfs/")).map((l) => l.path.split("/").at(-1)).sort()).toEqual(shards);
    checkProgress(events, Object.fromEntries(Object.entries(repos["test/sharded"]).map(([f, b]) => [f, b.length])), "done");
  });

  it("takes a revision; the cache keeps revisions apart", async () => {
    const s = await hub();
    const cache = freshCache();
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache, revision: "v1.0" }));
    expect(gets(s).map((l) => l.path)).toContain("/test/shakespeare/resolve/v1.0/config.json");
    expect(existsSync(join(cache.name, "hub", s.url.slice(7).replace(":", "_"), "test/shakespeare/v1.0/config.json"))).toBe(true);
    await expect(loadModel("test/shakespeare", { endpoint: s.url, cache, revision: "v2" })).rejects.toThrow(
      /test\/shakespeare@v2: not a model folder \(no config.json, params.json or .gguf file\)/,
    );
  });

  it("downloads a file once when two loads (two folders on one cache) ask for it at the same time", async () => {
    const s = await hub();
    const cache = freshCache();
    const [a, b] = await Promise.all([0, 1].map(() => loadModel("test/shakespeare", { endpoint: s.url, cache })));
    await expectGolden(a);
    await expectGolden(b);
    expect(gets(s).filter((l) => l.path.startsWith("/lfs/")).map((l) => [l.status, l.bytes])).toEqual([[200, WEIGHTS]]);
    expect(readdirSync(join(cache.name, "hub", s.url.slice(7).replace(":", "_"), "test/shakespeare/main")).sort()).toEqual([".mamba2-listing.json", "config.json", "model.safetensors"]); // no .part, no .lock left
  });

  it("retries a download that breaks off, resuming with a Range request", async () => {
    const s = await hub({ breakOff: { file: "model.safetensors", bytes: 4_000_000, times: 1 } });
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache: freshCache() }));
    const lfs = gets(s).filter((l) => l.path.startsWith("/lfs/"));
    // The client keeps what it had read when the connection broke (at most the 4 MB sent) and asks for the rest.
    const kept = Number(/^bytes=(\d+)-$/.exec(lfs[1].range!)![1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(4_000_000);
    expect(lfs.map((l) => [l.status, l.bytes])).toEqual([[200, 4_000_000], [206, WEIGHTS - kept]]);
  });

  it("fails after the last retry naming file and bytes; the next load resumes from the .part file", async () => {
    const s = await hub({ breakOff: { file: "model.safetensors", bytes: 3_000_000, times: 3 } });
    const cache = freshCache();
    const error = await loadModel("test/shakespeare", { endpoint: s.url, cache, retries: 2 }).catch((e: Error) => e.message);
    const message = new RegExp(`^model.safetensors: download from ${s.url}/lfs/test/shakespeare/main/model.safetensors broke off at (\\d+) of ${WEIGHTS} bytes after 3 attempts \\(terminated`);
    expect(error).toMatch(message);
    const kept = Number(message.exec(error as string)![1]); // at most the 3 × 3 MB sent
    expect(kept).toBeGreaterThan(6_000_000);
    expect(kept).toBeLessThanOrEqual(9_000_000);
    const part = join(cache.name, "hub", s.url.slice(7).replace(":", "_"), "test/shakespeare/main/model.safetensors.part");
    expect(statSync(part).size).toBe(kept);
    s.log.length = 0;
    const events: ProgressEvent[] = [];
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache, onProgress: (e) => events.push(e) }));
    expect(gets(s).map((l) => [l.path, l.range, l.bytes])).toEqual([
      ["/test/shakespeare/resolve/main/model.safetensors", `bytes=${kept}-`, 0],
      ["/lfs/test/shakespeare/main/model.safetensors", `bytes=${kept}-`, WEIGHTS - kept],
    ]);
    expect(existsSync(part)).toBe(false);
    expect(events.filter((e) => e.file === "model.safetensors" && e.state === "downloading")[0].loaded).toBeGreaterThan(kept);
  });

  it("retries a 503; starts over when the server ignores the Range or the partial file is too long", async () => {
    const s = await hub({ api: false, failWith: { file: "model.safetensors", status: 503, times: 1 }, breakOff: { file: "model.safetensors", bytes: 5_000_000, times: 2 } });
    const cache = freshCache();
    const error = await loadModel("test/shakespeare", { endpoint: s.url, cache }).catch((e: Error) => e.message);
    const kept = Number(/broke off at (\d+) of \d+ bytes after 3 attempts/.exec(error as string)![1]);
    expect(gets(s).filter((l) => l.path.includes("model.safetensors")).map((l) => l.status)).toEqual([503, 302, 200, 302, 206]);
    s.options.range = false;
    s.log.length = 0;
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache }));
    expect(gets(s).filter((l) => l.path.startsWith("/lfs/")).map((l) => [l.range, l.status, l.bytes])).toEqual([[`bytes=${kept}-`, 200, WEIGHTS]]);

    const part = join(cache.name, "hub", s.url.slice(7).replace(":", "_"), "test/shakespeare/v1.0/model.safetensors.part");
    mkdirSync(dirname(part), { recursive: true });
    writeFileSync(part, new Uint8Array(WEIGHTS + 10));
    s.options.range = true;
    s.log.length = 0;
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache, revision: "v1.0" }));
    expect(gets(s).filter((l) => l.path.startsWith("/lfs/")).map((l) => [l.range, l.status])).toEqual([[`bytes=${WEIGHTS + 10}-`, 416], [null, 200]]);
  });

  it("names the URL and file of a 404, and a file the listing does not have", async () => {
    const s = await hub({ api: false });
    const folder = hubFolder("test/shakespeare", { endpoint: s.url, cache: freshCache() });
    await expect(folder.text("special_tokens_map.json")).rejects.toThrow(
      `special_tokens_map.json: HTTP 404 Not Found from ${s.url}/test/shakespeare/resolve/main/special_tokens_map.json: no such file`,
    );
    expect(await folder.has("special_tokens_map.json")).toBe(false);
    expect(await folder.has("tokenizer.json")).toBe(true);
    expect(await folder.list()).toBeNull();
    await server!.close();
    const withApi = await hub();
    const listed = hubFolder("test/shakespeare", { endpoint: withApi.url, cache: freshCache() });
    await expect(listed.source("special_tokens_map.json")).rejects.toThrow(`special_tokens_map.json: not in test/shakespeare@main (${withApi.url}/test/shakespeare)`);
    expect(await listed.list()).toEqual(Object.keys(files));
    await expect(loadModel("test/no-weights", { endpoint: withApi.url, cache: freshCache() })).rejects.toThrow(
      "test/no-weights@main: no model.safetensors nor model.safetensors.index.json",
    );
  });

  it.each([
    ["the listing (node:crypto's SHA-256)", true, loadModel],
    ["the X-Linked headers (our SHA-256)", false, loadModelWeb],
  ])("refuses a file whose size or sha256 differs from %s", async (_, api, load) => {
    let s = await hub({ api, announce: { "model.safetensors": { size: 12_000_000 } } });
    await expect(load("test/shakespeare", { endpoint: s.url, cache: freshCache() })).rejects.toThrow(
      `model.safetensors: ${s.url}/lfs/test/shakespeare/main/model.safetensors announces ${WEIGHTS} bytes, expected 12000000`,
    );
    await server!.close();
    const wrong = "ab".repeat(32);
    s = await hub({ api, announce: { "model.safetensors": { sha256: wrong } } });
    const cache = freshCache();
    const actual = createHash("sha256").update(files["model.safetensors"]).digest("hex");
    await expect(load("test/shakespeare", { endpoint: s.url, cache })).rejects.toThrow(
      `model.safetensors: sha256 ${actual} of the ${WEIGHTS} bytes downloaded from ${s.url}/test/shakespeare/resolve/main/model.safetensors is not the expected ${wrong}`,
    );
    const path = join(cache.name, "hub", s.url.slice(7).replace(":", "_"), "test/shakespeare/main/model.safetensors");
    expect([existsSync(path), existsSync(path + ".part")]).toEqual([false, false]);
  });

  it("without the tree API (a plain mirror) also loads once and then from the cache alone", async () => {
    const s = await hub({ api: false });
    const cache = freshCache();
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache }));
    const before = s.log.length;
    await expectGolden(await loadModel("test/shakespeare", { endpoint: s.url, cache }));
    expect(s.log.length).toBe(before);
  });

  it("keeps files in the Cache API where the runtime has one", async () => {
    const stored = new Map<string, Response>();
    vi.stubGlobal("caches", {
      open: async () => ({
        match: async (url: string) => stored.get(url)?.clone(),
        put: async (url: string, res: Response) => void stored.set(url, new Response(await res.arrayBuffer(), { headers: res.headers })),
      }),
    });
    const s = await hub();
    await expectGolden(await loadModelWeb("test/shakespeare", { endpoint: s.url }));
    expect([...stored.keys()]).toContain(`${s.url}/test/shakespeare/resolve/main/model.safetensors`);
    const before = s.log.length;
    await expectGolden(await loadModelWeb("test/shakespeare", { endpoint: s.url, cache: browserCache() }));
    expect(s.log.length).toBe(before);

    // A corrupt download is not stored; a cache that refuses a file is named in the error.
    s.options.announce = { "model.safetensors": { sha256: "ab".repeat(32) } };
    await expect(loadModelWeb("test/shakespeare", { endpoint: s.url, revision: "v1.0" })).rejects.toThrow(/^model.safetensors: sha256 \w+ of the 12522144 bytes/);
    expect([...stored.keys()].filter((k) => k.includes("v1.0")).map((k) => k.split("/").at(-1))).toEqual([".mamba2-listing.json", "config.json"]);
    vi.stubGlobal("caches", { open: async () => ({ match: async () => undefined, put: async () => Promise.reject(new Error("QuotaExceededError")) }) });
    await expect(loadModelWeb("test/shakespeare", { endpoint: s.url, revision: "v1.0" })).rejects.toThrow(
      "test/shakespeare@v1.0/config.json: the Cache API did not store the file (QuotaExceededError); load with cache: memoryCache() to keep it in memory instead",
    );
  });

  it("rejects bad ids, revisions and paths in one line", async () => {
    expect(() => hubFolder("a/b/c")).toThrow('"a/b/c": not a Hub repository id (expected "org/name")');
    expect(() => hubFolder("a/b", { endpoint: "ftp://x" })).toThrow("ftp://x: the Hub endpoint must be an http(s) URL");
    await expect(hubFolder("a/b", { endpoint: "http://127.0.0.1:9" }).source("../secret")).rejects.toThrow('"../secret": not a relative file path inside the model folder');
    await expect(loadModelWeb("not a source")).rejects.toThrow('"not a source": neither an http(s) URL nor a Hub id');
    await expect(loadModel(join(tmp, "nowhere"))).rejects.toThrow(`${join(tmp, "nowhere")}: no such folder, nor an http(s) URL or a Hub id`);
  });
});

describe("URLs", () => {
  it("reads the weights lazily with Range requests where the server supports them", async () => {
    const s = await hub();
    const events: ProgressEvent[] = [];
    await expectGolden(await loadModel(`${s.url}/test/shakespeare/resolve/main/`, { onProgress: (e) => events.push(e) }));
    const lfs = gets(s).filter((l) => l.path.startsWith("/lfs/"));
    expect(lfs.length).toBeGreaterThan(10);
    expect(lfs.every((l) => l.status === 206 && /^bytes=\d+-\d+$/.test(l.range!))).toBe(true);
    expect(lfs.reduce((a, l) => a + l.bytes, 0)).toBe(WEIGHTS + 1); // the one-byte probe, then every byte once
    checkProgress(events, { "config.json": CONFIG, "model.safetensors": WEIGHTS }, "done");
  });

  it("fetches whole files from a server without Range support", async () => {
    const s = await hub({ range: false });
    const events: ProgressEvent[] = [];
    await expectGolden(await loadModel(new URL(`${s.url}/test/sharded/resolve/main`), { onProgress: (e) => events.push(e) }));
    const lfs = gets(s).filter((l) => l.path.startsWith("/lfs/"));
    expect(lfs.map((l) => l.status)).toEqual([200, 200, 200]);
    checkProgress(events, Object.fromEntries(Object.entries(repos["test/sharded"]).map(([f, b]) => [f, b.length])), "done");
  });

  it("takes gzip-encoded files, whose Content-Length counts compressed bytes", async () => {
    const s = await hub({ gzip: true });
    for (const source of ["test/sharded", `${s.url}/test/sharded/resolve/main/`]) {
      const events: ProgressEvent[] = [];
      await expectGolden(await loadModel(source, { endpoint: s.url, cache: freshCache(), onProgress: (e) => events.push(e) }));
      checkProgress(events, Object.fromEntries(Object.entries(repos["test/sharded"]).map(([f, b]) => [f, b.length])), "done");
    }
    const index = repos["test/sharded"]["model.safetensors.index.json"].length;
    const sent = s.log.filter((l) => l.method === "GET" && l.path.endsWith("/model.safetensors.index.json")).map((l) => l.bytes);
    expect(sent).toHaveLength(2);
    expect(sent.every((n) => n > 0 && n < index / 2)).toBe(true); // compressed
  });

  it("names the URL of a missing file", async () => {
    const s = await hub();
    const folder = urlFolder(`${s.url}/test/shakespeare/resolve/main`);
    await expect(folder.source("nope.safetensors")).rejects.toThrow(`nope.safetensors: HTTP 404 Not Found from ${s.url}/test/shakespeare/resolve/main/nope.safetensors: no such file`);
    expect([await folder.has("config.json"), await folder.has("nope.json"), await folder.list()]).toEqual([true, false, null]);
    await expect(urlFolder("http://127.0.0.1:9/").text("config.json")).rejects.toThrow(/^config.json: cannot fetch http:\/\/127.0.0.1:9\/config.json \(fetch failed/);
  });
});

describe("File objects", () => {
  const asFiles = (names: string[], folder?: string) =>
    names.map((name) => {
      const f = new File([read(name)], name);
      if (folder) Object.defineProperty(f, "webkitRelativePath", { value: `${folder}/${name}` });
      return f;
    });

  it("loads a picked folder (webkitRelativePath) or loose files, with progress", async () => {
    const events: ProgressEvent[] = [];
    await expectGolden(await loadModelWeb(asFiles(["config.json", "model.safetensors", "tokenizer.json"], "mamba2-shakespeare"), { onProgress: (e) => events.push(e) }));
    checkProgress(events, { "config.json": CONFIG, "model.safetensors": WEIGHTS }, "done");
    expect(filesFolder(asFiles(["config.json"], "mamba2-shakespeare")).name).toBe("mamba2-shakespeare");
    const folder = filesFolder(asFiles(["config.json", "model.safetensors"]));
    expect(await folder.list()).toEqual(["config.json", "model.safetensors"]);
    await expectGolden(await loadModelWeb(folder));
  });

  it("names a missing or doubled file", async () => {
    const folder = filesFolder(asFiles(["config.json"]));
    await expect(folder.source("model.safetensors")).rejects.toThrow("model.safetensors: not among the files given (config.json)");
    expect(() => filesFolder([...asFiles(["config.json"]), ...asFiles(["config.json"])])).toThrow("two files named config.json among the 2 files given");
  });
});

describe("folders on disk", () => {
  it("loads a path with progress, and a ModelFolder as it is", async () => {
    const events: ProgressEvent[] = [];
    await expectGolden(await loadModel(dir, { onProgress: (e) => events.push(e) }));
    checkProgress(events, { "config.json": CONFIG, "model.safetensors": WEIGHTS }, "done");
    await expectGolden(await loadModelWeb(nodeFolder(dir)));
    await expectGolden(await loadModel(pathToFileURL(dir)));
  });
});

describe("SHA-256", () => {
  it("matches node:crypto on every padding case and across chunk boundaries", () => {
    const data = files["model.safetensors"].subarray(0, 300);
    for (const len of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300]) {
      const h = new Sha256();
      for (let i = 0; i < len; i += 7) h.update(data.subarray(i, Math.min(len, i + 7)));
      expect(h.hex(), String(len)).toBe(createHash("sha256").update(data.subarray(0, len)).digest("hex"));
    }
  });
});
