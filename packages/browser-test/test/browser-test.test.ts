import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mimeType, serveDir, withChromium } from "../src/index.js";

// A module exporting add(i32, i32) -> i32, written out by hand.
const ADD_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03, 0x02,
  0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20,
  0x01, 0x6a, 0x0b,
]);

// The page reports through window.result: streaming compilation (needs application/wasm), a module script,
// isolation and the WebGPU adapter.
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module" src="main.js"></script>`;
const MAIN = `
const { instance } = await WebAssembly.instantiateStreaming(fetch("add.wasm"));
let adapter = null;
if (navigator.gpu) {
  const a = await navigator.gpu.requestAdapter();
  if (a) {
    const device = await a.requestDevice();
    adapter = { vendor: a.info.vendor, architecture: a.info.architecture, device: Boolean(device) };
  }
}
window.result = {
  sum: instance.exports.add(2, 40),
  isolated: crossOriginIsolated,
  sab: typeof SharedArrayBuffer === "function",
  adapter,
};
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "browser-test-"));
  writeFileSync(join(dir, "index.html"), PAGE);
  writeFileSync(join(dir, "main.js"), MAIN);
  writeFileSync(join(dir, "add.wasm"), ADD_WASM);
  writeFileSync(join(dir, "data.bin"), Uint8Array.from({ length: 100 }, (_, i) => i));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pageResult(isolated: boolean, webgpu: boolean) {
  const site = await serveDir(dir, { crossOriginIsolated: isolated });
  try {
    const result = await withChromium(
      async ({ page, logs }) => {
        await page.goto(site.url);
        await page.waitForFunction(() => "result" in window, undefined, { timeout: 60_000 }).catch((e) => {
          throw new Error(`${e}\n${logs.join("\n")}`);
        });
        return page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
      },
      { webgpu },
    );
    return { result, requests: site.requests };
  } finally {
    await site.close();
  }
}

describe("serveDir", () => {
  it("serves files with their MIME type, HEAD, ranges and 404s", async () => {
    const site = await serveDir(dir);
    try {
      expect(site.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const wasm = await fetch(new URL("add.wasm", site.url));
      expect(wasm.headers.get("content-type")).toBe("application/wasm");
      expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(ADD_WASM);
      const head = await fetch(new URL("data.bin", site.url), { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe("100");
      const part = await fetch(new URL("data.bin", site.url), { headers: { Range: "bytes=10-13" } });
      expect(part.status).toBe(206);
      expect(part.headers.get("content-range")).toBe("bytes 10-13/100");
      expect([...new Uint8Array(await part.arrayBuffer())]).toEqual([10, 11, 12, 13]);
      const tail = await fetch(new URL("data.bin", site.url), { headers: { Range: "bytes=-2" } });
      expect([...new Uint8Array(await tail.arrayBuffer())]).toEqual([98, 99]);
      expect((await fetch(new URL("data.bin", site.url), { headers: { Range: "bytes=200-" } })).status).toBe(416);
      expect((await fetch(new URL("missing.js", site.url))).status).toBe(404);
      expect((await fetch(new URL("/..%2fetc%2fpasswd", site.url))).status).toBe(403);
      expect(site.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        "GET /add.wasm 200",
        "HEAD /data.bin 200",
        "GET /data.bin 206",
        "GET /data.bin 206",
        "GET /data.bin 416",
        "GET /missing.js 404",
        "GET /../etc/passwd 403",
      ]);
      expect(mimeType("a/b/index.HTML")).toBe("text/html; charset=utf-8");
      expect(mimeType("model.safetensors")).toBe("application/octet-stream");
    } finally {
      await site.close();
    }
  });

  it("refuses a path that is not a directory", async () => {
    await expect(serveDir(join(dir, "nope"))).rejects.toThrow(/is not a directory/);
  });
});

describe("withChromium", () => {
  it("runs a page with WebGPU (SwiftShader) and cross-origin isolation", async () => {
    const { result, requests } = await pageResult(true, true);
    expect(result).toEqual({
      sum: 42,
      isolated: true,
      sab: true,
      adapter: { vendor: "google", architecture: "swiftshader", device: true },
    });
    // (the browser may also ask for /favicon.ico, at any time)
    expect(requests.map((r) => r.path).filter((p) => p !== "/favicon.ico")).toEqual(["/", "/main.js", "/add.wasm"]);
  });

  it("without isolation or WebGPU flags the page has neither", async () => {
    const { result } = await pageResult(false, false);
    expect(result).toMatchObject({ sum: 42, isolated: false, sab: false });
  });

  it("names a missing browser", async () => {
    await expect(withChromium(async () => 0, { executablePath: "/nonexistent/chromium" })).rejects.toThrow(
      "withChromium: no browser at /nonexistent/chromium",
    );
  });
});
