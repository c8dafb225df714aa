import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Golden, readGoldens } from "../src/testing/compare.js";

export { maxAbsDiff, relErr } from "../src/testing/compare.js";
export type { Golden };

export const fixtureDir = (name: string) => fileURLToPath(new URL(`../../../fixtures/${name}/`, import.meta.url));

export const goldensOf = (dir: string) => readGoldens(readFileSync(`${dir}golden.safetensors`));

export const ints = (g: Golden): number[] => Array.from(g.values);
