// The fixtures' end-to-end goldens with the WASM backend.
import { fileURLToPath } from "node:url";
import { goldenSuite, transformersSuite } from "@mamba2/core/testing";
import { createWasmBackend } from "../src/index.js";

const fixtures = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
goldenSuite("wasm (simd)", () => createWasmBackend({ simd: true, relaxedSimd: false }), fixtures);
goldenSuite("wasm (relaxed simd, 2 threads)", () => createWasmBackend({ threads: 2, relaxedSimd: true }), fixtures);
goldenSuite("wasm (scalar)", () => createWasmBackend({ simd: false }), fixtures, ["tiny", "groups", "ssmformat"]);
transformersSuite("wasm (simd)", () => createWasmBackend({ simd: true, relaxedSimd: false }), fixtures);
