// Every WASM kernel against the reference backend, in the SIMD and the scalar build.
import { conformanceSuite } from "@mamba2/core/testing";
import { createWasmBackend } from "../src/index.js";

conformanceSuite("wasm (simd)", () => createWasmBackend({ simd: true }));
conformanceSuite("wasm (scalar)", () => createWasmBackend({ simd: false }));
