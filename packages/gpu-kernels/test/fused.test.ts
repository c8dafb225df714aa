// The WebGPU fused kernels (norms folded into the decode gemv, the residual added by it) against the reference's
// ops, with subgroups and with matrices split across bindings.
import { fusedSuite } from "@mamba2/core/testing";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

fusedSuite("webgpu (subgroups)", async () => createWebGpuBackend({ gpu: await nodeGpu() }));
// parts of 64 KiB, as in conformance.test.ts
fusedSuite("webgpu (split bindings)", async () => createWebGpuBackend({ gpu: await nodeGpu(), weightPartBytes: 65536 }));
// Subgroups wider than the adapter's smallest (here claimed to be 1): the gemv by subgroups takes its outputs in turns.
fusedSuite("webgpu (subgroups in turns)", async () => {
  const backend = await createWebGpuBackend({ gpu: await nodeGpu() });
  Object.assign(backend.features, { subgroupMinSize: 1 });
  return backend;
});
