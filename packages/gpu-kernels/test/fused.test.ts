// The WebGPU fused kernels (norms folded into the decode gemv, the residual added by it) against the reference's
// ops, with subgroups and without, and with matrices split across bindings.
import { fusedSuite } from "@mamba2/core/testing";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

fusedSuite("webgpu (subgroups)", async () => createWebGpuBackend({ gpu: await nodeGpu() }));
fusedSuite("webgpu (split bindings)", async () => createWebGpuBackend({ gpu: await nodeGpu(), weightPartBytes: 1024 }));
