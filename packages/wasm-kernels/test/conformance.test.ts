// Every WASM kernel against the reference backend: the SIMD build (f16 matrices with subnormal maps), the relaxed
// one (without), the scalar build, and SIMD on 3 threads (an odd count, so that the work splits unevenly).
import { conformanceSuite } from "@mamba2/core/testing";
import { createWasmBackend } from "../src/index.js";

conformanceSuite("wasm (simd)", () => createWasmBackend({ simd: true, relaxedSimd: false, subnormalMap: true }));
conformanceSuite("wasm (relaxed simd)", () => createWasmBackend({ relaxedSimd: true, subnormalMap: false }));
conformanceSuite("wasm (scalar)", () => createWasmBackend({ simd: false }));
conformanceSuite("wasm (simd, 3 threads)", () => createWasmBackend({ threads: 3, relaxedSimd: false }));
conformanceSuite("wasm (relaxed simd, 3 threads)", () => createWasmBackend({ threads: 3, relaxedSimd: true }));
