import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Dawn (the `webgpu` package) finds no GPU on CI machines: use SwiftShader's Vulkan driver from Debian's chromium.
const swiftshader = "/usr/lib/chromium/vk_swiftshader_icd.json";
const env = process.env.VK_ICD_FILENAMES || !existsSync(swiftshader) ? {} : { VK_ICD_FILENAMES: swiftshader, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" };

export default defineConfig({
  // WGSL sources are imported as text (tsup does the same with its text loader).
  plugins: [{ name: "wgsl-text", transform: (code, id) => (id.endsWith(".wgsl") ? `export default ${JSON.stringify(code)};` : undefined) }],
  // SwiftShader runs the shaders on the CPU: the wide fixture's forward passes take seconds, and the longest tests
  // ~100 s on an idle 2-core machine (Chromium 156's SwiftShader), more beside the other suites.
  test: { env, testTimeout: 600_000, hookTimeout: 600_000 },
});
