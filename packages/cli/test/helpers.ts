// Paths of the repository and a runner of the built `mamba2` command, for the CLI tests.
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../../", import.meta.url));
export const shakespeare = join(root, "models/mamba2-shakespeare");
export const tiny = join(root, "fixtures/tiny");
const main = join(root, "packages/cli/dist/main.js");

/**
 * `--backend auto` asks Dawn for a WebGPU adapter, and Dawn writes warnings on stderr about Vulkan drivers it
 * cannot use (Mesa's lavapipe). Pointed at SwiftShader's driver only, it finds a software adapter (passed over
 * for WASM) and stays quiet.
 */
const QUIET_VULKAN = { VK_ICD_FILENAMES: "/usr/lib/chromium/vk_swiftshader_icd.json", XDG_RUNTIME_DIR: tmpdir() };

export function mamba2(...args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", env: { ...process.env, ...QUIET_VULKAN } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
