// Every WebGPU kernel against the reference backend, on Dawn (the `webgpu` package) over SwiftShader's Vulkan
// in CI: with subgroup operations, with the workgroup-memory fallback, and with matrices split across bindings
// (parts of 64 KiB: the suite's matrices and embedding tables above that span 2 to ~140 buffers; each part is a
// dispatch, which SwiftShader runs in milliseconds, so smaller parts made single cases take minutes).
import { conformanceSuite } from "@mamba2/core/testing";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

conformanceSuite("webgpu (subgroups)", async () => createWebGpuBackend({ gpu: await nodeGpu() }));
conformanceSuite("webgpu (workgroup memory)", async () => createWebGpuBackend({ gpu: await nodeGpu(), subgroups: false }));
conformanceSuite("webgpu (split bindings)", async () => createWebGpuBackend({ gpu: await nodeGpu(), weightPartBytes: 65536 }));
