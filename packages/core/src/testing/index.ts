/** Test helpers for every backend package (Node-only; imports vitest). */
export { type Golden, maxAbs, maxAbsDiff, readGoldens, relErr } from "./compare.js";
export { conformanceSuite, KERNEL_TOLERANCE, nmse } from "./conformance.js";
export { fusedSuite } from "./fused-suite.js";
export { FIXTURES, GOLDEN_TOLERANCE, goldenSuite } from "./golden-suite.js";
export { samplingSuite } from "./sampling-suite.js";
export { transformersSuite } from "./transformers-suite.js";
