// End-to-end goldens of the fixtures on the reference backend, through the core model and the transformers API.
import { fileURLToPath } from "node:url";
import { createReferenceBackend } from "../src/index.js";
import { goldenSuite, transformersSuite } from "../src/testing/index.js";

const fixtures = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
goldenSuite("reference", createReferenceBackend, fixtures);
transformersSuite("reference", createReferenceBackend, fixtures);
