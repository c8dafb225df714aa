// The fixtures' end-to-end goldens with the WebGPU backend (Dawn on SwiftShader's Vulkan in CI), directly and
// through the transformers-style classes.
import { fileURLToPath } from "node:url";
import { goldenSuite, transformersSuite } from "@mamba2/core/testing";
import { createWebGpuBackend } from "../src/index.js";
import { nodeGpu } from "../src/node.js";

const fixtures = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
goldenSuite("webgpu", async () => createWebGpuBackend({ gpu: await nodeGpu() }), fixtures);
goldenSuite("webgpu (workgroup memory)", async () => createWebGpuBackend({ gpu: await nodeGpu(), subgroups: false }), fixtures, ["groups"]);
transformersSuite("webgpu", async () => createWebGpuBackend({ gpu: await nodeGpu() }), fixtures);
