// The WebGPU sample kernel against the reference (same token ids), with subgroup operations and without.
import { samplingSuite } from "@mamba2/core/testing";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

samplingSuite("webgpu (subgroups)", async () => createWebGpuBackend({ gpu: await nodeGpu() }));
samplingSuite("webgpu (workgroup memory)", async () => createWebGpuBackend({ gpu: await nodeGpu(), subgroups: false }));
