/**
 * @mamba2/browser-test (private): what the workspace's browser tests share.
 *
 * A package's test adds `"@mamba2/browser-test": "workspace:*"` to its devDependencies and then:
 *
 *   const site = await serveDir(dir, { crossOriginIsolated: true });   // http://127.0.0.1:PORT/
 *   try {
 *     const text = await withChromium(async ({ page, logs }) => {
 *       await page.goto(site.url);                                     // dir/index.html
 *       return page.evaluate(() => runTheThing());                     // or wait for the page's result
 *     }, { webgpu: true });                                            // navigator.gpu on SwiftShader
 *   } finally { await site.close(); }
 *
 * `site.requests` lists what the page fetched; `logs` holds its console output and uncaught errors.
 */
export { type ChromiumContext, type ChromiumOptions, WEBGPU_FLAGS, withChromium } from "./chromium.js";
export { type ServeOptions, type Served, type ServedRequest, mimeType, serveDir } from "./serve.js";
