import { defineConfig } from "vitest/config";

// The reference backend is exact, not fast: the 768-wide fixture takes seconds per forward.
export default defineConfig({ test: { testTimeout: 300_000, hookTimeout: 300_000 } });
