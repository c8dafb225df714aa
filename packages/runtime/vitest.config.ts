import { defineConfig } from "vitest/config";

// Loads the Shakespeare model and generates on WASM (and on WebGPU where the backend exists); the smoke tests
// pack, install and run the packages under Node, Deno, Bun and Chromium.
export default defineConfig({ test: { testTimeout: 300_000, hookTimeout: 300_000 } });
