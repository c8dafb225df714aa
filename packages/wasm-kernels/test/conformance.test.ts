// Every WASM kernel against the reference backend: the SIMD build, the scalar build, and SIMD on 3 threads
// (an odd count, so that the work splits unevenly).
import { conformanceSuite } from "@mamba2/core/testing";
import { createWasmBackend } from "../src/index.js";

conformanceSuite("wasm (simd)", () => createWasmBackend({ simd: true, relaxedSimd: false }));
conformanceSuite("wasm (relaxed simd)", () => createWasmBackend({ relaxedSimd: true }));
conformanceSuite("wasm (scalar)", () => createWasmBackend({ simd: false }));
conformanceSuite("wasm (simd, 3 threads)", () => createWasmBackend({ threads: 3, relaxedSimd: false }));
conformanceSuite("wasm (relaxed simd, 3 threads)", () => createWasmBackend({ threads: 3, relaxedSimd: true }));
