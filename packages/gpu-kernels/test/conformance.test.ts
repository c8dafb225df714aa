// Every WebGPU kernel against the reference backend, on Dawn (the `webgpu` package) over SwiftShader's Vulkan
// in CI: with subgroup operations, with the workgroup-memory fallback, and with matrices split across bindings
// (parts of 1 KiB: every matmul and embedding table of the suite but the smallest spans several buffers).
import { conformanceSuite } from "@mamba2/core/testing";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

conformanceSuite("webgpu (subgroups)", async () => createWebGpuBackend({ gpu: await nodeGpu() }));
conformanceSuite("webgpu (workgroup memory)", async () => createWebGpuBackend({ gpu: await nodeGpu(), subgroups: false }));
conformanceSuite("webgpu (split bindings)", async () => createWebGpuBackend({ gpu: await nodeGpu(), weightPartBytes: 1024 }));
