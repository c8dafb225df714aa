import { defineConfig } from "vitest/config";

// Packing, installing and a Vite build take a while; WebGPU on SwiftShader (a CPU) is slow.
export default defineConfig({ test: { testTimeout: 600_000, hookTimeout: 600_000 } });
