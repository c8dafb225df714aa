import { readFile, writeFile } from "node:fs/promises";
import { deserializeState, type Mamba2Session, serializeState } from "@mamba2/core";
import { UsageError } from "./args.js";

/** `--load-state FILE`: the session continues from the state saved in FILE (which must be of this model). */
export async function loadStateFile(session: Mamba2Session, file: string): Promise<void> {
  const bytes = await readFile(file).catch(() => {
    throw new UsageError(`${file}: no such file`);
  });
  const state = await deserializeState(session.model, bytes, file);
  session.loadState(state);
  state.free();
}

/** `--save-state FILE`: writes the session's state, to continue exactly where it stopped. */
export async function saveStateFile(session: Mamba2Session, file: string): Promise<void> {
  const state = session.saveState();
  try {
    await writeFile(file, await serializeState(state));
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as Error).message}`);
  } finally {
    state.free();
  }
}
