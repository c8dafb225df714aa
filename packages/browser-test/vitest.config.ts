import { defineConfig } from "vitest/config";

// Each test launches a browser (about a second, more on a busy machine).
export default defineConfig({ test: { testTimeout: 120_000, hookTimeout: 120_000 } });
