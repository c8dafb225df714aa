import { defineConfig } from "vitest/config";

// Headless Chromium against the built app; WebGPU on SwiftShader (a CPU) decodes about a token a second.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], testTimeout: 300_000, hookTimeout: 120_000 } });
