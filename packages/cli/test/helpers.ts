// Paths of the repository and a runner of the built `mamba2` command, for the CLI tests.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../../", import.meta.url));
export const shakespeare = join(root, "models/mamba2-shakespeare");
export const tiny = join(root, "fixtures/tiny");
const main = join(root, "packages/cli/dist/main.js");

export function mamba2(...args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
