import { defineConfig } from "vitest/config";

// Headless Chromium against the built app; WebGPU on SwiftShader (a CPU) decodes a token in 0.7 s on an idle 2-core
// machine and took 194 s for load + 24 tokens beside the other suites in CI.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], testTimeout: 600_000, hookTimeout: 120_000 } });
