/**
 * Headless Chromium for tests: Debian's `/usr/bin/chromium` (apt package `chromium`) driven by
 * playwright-core, so no browser is downloaded. With `webgpu: true` the page gets `navigator.gpu` with
 * SwiftShader's Vulkan adapter (CPU only, no GPU needed); pages must come from http://127.0.0.1 (a secure
 * context), e.g. from `serveDir`. Console messages and page errors are collected in `logs` for failures.
 */
import { existsSync } from "node:fs";
import { type Browser, type Page, chromium } from "playwright-core";

export interface ChromiumOptions {
  /** Expose WebGPU (`--enable-unsafe-webgpu`) on SwiftShader's Vulkan adapter. */
  webgpu?: boolean;
  /** The browser binary; default `$CHROMIUM_PATH` or `/usr/bin/chromium`. */
  executablePath?: string;
  /** More command line flags. */
  args?: string[];
}

export interface ChromiumContext {
  browser: Browser;
  /** A fresh page. */
  page: Page;
  /** `console.*` output (`type: text`) and uncaught errors (`pageerror: …`) of `page`, in order. */
  logs: string[];
}

/** Flags under which headless Chromium offers a WebGPU adapter without a GPU (SwiftShader, with adapter info). */
export const WEBGPU_FLAGS = [
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
  "--enable-webgpu-developer-features",
];

/** Launches Chromium, runs `fn`, and closes the browser whatever `fn` does. */
export async function withChromium<T>(fn: (ctx: ChromiumContext) => Promise<T>, options: ChromiumOptions = {}): Promise<T> {
  const executablePath = options.executablePath ?? process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(`withChromium: no browser at ${executablePath} (install Debian's chromium package, or set CHROMIUM_PATH)`);
  }
  const args = [...(options.webgpu ? WEBGPU_FLAGS : []), ...(options.args ?? [])];
  const browser = await chromium.launch({ executablePath, headless: true, args });
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    return await fn({ browser, page, logs });
  } finally {
    await browser.close();
  }
}
