/**
 * The messages between the page and the worker that runs the model. The page asks, the worker answers;
 * generated text is pulled: the worker sends a `chunk` only after the page asked for one with `pull`, so a slow
 * page is never flooded (the deltas made meanwhile wait in the worker and come together).
 */
import type { BackendReport, Capabilities, ProgressEvent } from "@mamba2/runtime";

export type Device = "auto" | "webgpu" | "wasm";

/** Where the model comes from. */
export type ModelChoice =
  /** The model served with the app, at `url`. */
  | { kind: "bundled"; url: string }
  /** A Hub id (`org/name`) or a URL of a folder; `endpoint` replaces https://huggingface.co for Hub ids. */
  | { kind: "remote"; source: string; endpoint?: string }
  | { kind: "files"; files: File[] };

export interface GenerateSettings {
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}

export type ToWorker =
  | { type: "probe" }
  | { type: "load"; model: ModelChoice; device: Device }
  | { type: "generate"; settings: GenerateSettings }
  | { type: "pull" }
  | { type: "stop" };

export interface Speed {
  promptTokens: number;
  /** Prompt tokens per second (null until the first token came). */
  prefillPerS: number | null;
  /** Generated tokens so far. */
  tokens: number;
  /** Tokens per second since the first generated token (null before the second). */
  decodePerS: number | null;
}

export type FromWorker =
  | { type: "capabilities"; capabilities: Capabilities }
  | { type: "progress"; event: ProgressEvent }
  | { type: "loaded"; name: string; device: string; selection: BackendReport[]; seconds: number }
  /** `text` is what was generated since the previous chunk; `steps` the decode speed of each token since then. */
  | { type: "chunk"; text: string; speed: Speed; steps: number[] }
  | { type: "done"; reason: "length" | "eos" | "stopped"; speed: Speed }
  | { type: "error"; during: "load" | "generate"; message: string };
