import { defineConfig } from "vitest/config";

// SwiftShader runs the shaders on the CPU: the wide fixture's forward passes take seconds.
export default defineConfig({ test: { testTimeout: 300_000, hookTimeout: 300_000 } });
