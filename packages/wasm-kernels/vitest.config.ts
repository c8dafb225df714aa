import { defineConfig } from "vitest/config";

// The reference backend is exact, not fast: the 768-wide fixture takes seconds per forward. Node.js 20 validates
// the relaxed-SIMD builds only with V8's flag (Node.js 22 and later have it on).
export default defineConfig({ test: { testTimeout: 300_000, hookTimeout: 300_000, execArgv: ["--experimental-wasm-relaxed-simd"] } });
