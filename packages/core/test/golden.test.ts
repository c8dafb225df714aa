// End-to-end goldens of the fixtures on the reference backend.
import { fileURLToPath } from "node:url";
import { createReferenceBackend } from "../src/index.js";
import { goldenSuite } from "../src/testing/index.js";

goldenSuite("reference", createReferenceBackend, fileURLToPath(new URL("../../../fixtures/", import.meta.url)));
