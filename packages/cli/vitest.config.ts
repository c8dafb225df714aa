import { defineConfig } from "vitest/config";

// The CLI tests run the built command on the reference backend.
export default defineConfig({ test: { testTimeout: 300_000 } });
