/**
 * WebGPU in Node.js through Dawn (the `webgpu` package, an optional peer dependency): `await nodeGpu()` is the
 * `navigator.gpu` of a browser. On Linux without a GPU, Dawn runs on a Vulkan driver such as SwiftShader's
 * (`VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`, with the Vulkan loader libvulkan1).
 */
import { fail } from "@mamba2/core";

let cached: Promise<GPU> | undefined;

export function nodeGpu(): Promise<GPU> {
  cached ??= import("webgpu").then(
    ({ create, globals }: { create(flags: string[]): GPU; globals: object }) => {
      Object.assign(globalThis, globals); // GPUBufferUsage, GPUMapMode, … as in a browser
      return create([]);
    },
    (e: unknown) => fail(`WebGPU in Node needs the \`webgpu\` package (npm i webgpu): ${String((e as Error).message).split("\n")[0]}`),
  );
  return cached;
}
