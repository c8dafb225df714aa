import { defineConfig } from "vitest/config";

export default defineConfig({
  // WGSL sources are imported as text (tsup does the same with its text loader).
  plugins: [{ name: "wgsl-text", transform: (code, id) => (id.endsWith(".wgsl") ? `export default ${JSON.stringify(code)};` : undefined) }],
  // SwiftShader runs the shaders on the CPU: the wide fixture's forward passes take seconds.
  test: { testTimeout: 300_000, hookTimeout: 300_000 },
});
