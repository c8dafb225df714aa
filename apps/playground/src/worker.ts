/**
 * The model's worker (a module worker): probes the backends, loads a model with download progress, and runs one
 * generation at a time. Text is sent when the page pulls (see protocol.ts); `stop` aborts the generation before
 * its next model call.
 */
import { createRuntime, loadModel, loadTokenizer, type Mamba2Model, type Mamba2Tokenizer, probeCapabilities, type ProgressEvent, type Runtime } from "@mamba2/runtime";
import type { FromWorker, GenerateSettings, ModelChoice, Speed, ToWorker } from "./protocol.js";

interface Loaded {
  runtime: Runtime;
  model: Mamba2Model;
  tokenizer: Mamba2Tokenizer;
}

let loaded: Loaded | null = null;
let busy = false;
let running: AbortController | null = null;

/** Deltas waiting for the page's next pull. */
let pendingText = "";
let pendingSteps: number[] = [];
let pulled = false;
let speed: Speed = { promptTokens: 0, prefillPerS: null, tokens: 0, decodePerS: null };

const send = (m: FromWorker) => postMessage(m);

/** One line: the error's message (the library's errors already name the file, tensor or field), without a stack. */
function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/**
 * Lets the worker's queued messages (`stop`, `pull`) run: the WASM backend computes without giving the event loop
 * a turn, so the generation loop yields one task per token (a MessageChannel message: no timer clamping).
 */
const channel = new MessageChannel();
let resumeGeneration: (() => void) | null = null;
channel.port1.onmessage = () => resumeGeneration?.();
const yieldToMessages = () =>
  new Promise<void>((resolve) => {
    resumeGeneration = resolve;
    channel.port2.postMessage(null);
  });

function flush(): void {
  if (!pulled || (pendingText === "" && pendingSteps.length === 0)) return;
  send({ type: "chunk", text: pendingText, speed, steps: pendingSteps });
  pendingText = "";
  pendingSteps = [];
  pulled = false;
}

async function load(choice: ModelChoice, device: "auto" | "webgpu" | "wasm"): Promise<void> {
  const started = performance.now();
  loaded?.runtime.dispose();
  loaded = null;
  const onProgress = (event: ProgressEvent) => send({ type: "progress", event });
  const runtime = await createRuntime({ device });
  try {
    let source: string | URL | File[];
    let name: string;
    const options: { endpoint?: string } = {};
    if (choice.kind === "bundled") {
      source = new URL(choice.url);
      name = "mamba2-shakespeare (bundled)";
    } else if (choice.kind === "remote") {
      source = choice.source.trim();
      name = source;
      if (choice.endpoint) options.endpoint = choice.endpoint;
    } else {
      source = choice.files;
      name = `${choice.files.length} local file${choice.files.length === 1 ? "" : "s"}`;
    }
    const [model, tokenizer] = await Promise.all([loadModel(source, { runtime, onProgress, ...options }), loadTokenizer(source, { onProgress, ...options })]);
    loaded = { runtime, model, tokenizer };
    send({
      type: "loaded",
      name,
      device: runtime.device,
      selection: [...runtime.selection],
      seconds: (performance.now() - started) / 1000,
    });
  } catch (e) {
    runtime.dispose();
    throw e;
  }
}

async function generate(settings: GenerateSettings): Promise<void> {
  if (!loaded) throw new Error("no model is loaded");
  const { model, tokenizer } = loaded;
  const ids = tokenizer.encode(settings.prompt);
  if (ids.length === 0) throw new Error("the prompt is empty");
  running = new AbortController();
  speed = { promptTokens: ids.length, prefillPerS: null, tokens: 0, decodePerS: null };
  pendingText = "";
  pendingSteps = [];
  const started = performance.now();
  let first = 0;
  let last = 0;
  let reason: "length" | "eos" | "stopped" = "length";
  try {
    const session = model.createSession();
    for await (const d of session.generate(ids, {
      maxNewTokens: settings.maxNewTokens,
      temperature: settings.temperature,
      topK: settings.topK,
      topP: settings.topP,
      repetitionPenalty: settings.repetitionPenalty,
      seed: settings.seed,
      decoder: tokenizer,
      signal: running.signal,
    })) {
      const now = performance.now();
      speed.tokens++;
      if (speed.tokens === 1) {
        first = now;
        speed.prefillPerS = ids.length / Math.max((now - started) / 1000, 1e-6);
      } else {
        pendingSteps.push(1000 / Math.max(now - last, 1e-3));
        speed.decodePerS = (speed.tokens - 1) / Math.max((now - first) / 1000, 1e-6);
      }
      last = now;
      pendingText += d.text;
      if (d.finish === "eos") reason = "eos";
      flush();
      await yieldToMessages();
    }
  } catch (e) {
    if (!running.signal.aborted) throw e;
    reason = "stopped";
  } finally {
    running = null;
  }
  pulled = true;
  flush();
  send({ type: "done", reason, speed });
}

function guard(during: "load" | "generate", work: () => Promise<void>): void {
  if (busy) {
    send({ type: "error", during, message: "busy: one load or generation at a time" });
    return;
  }
  busy = true;
  work()
    .catch((e: unknown) => send({ type: "error", during, message: oneLine(e) }))
    .finally(() => (busy = false));
}

self.addEventListener("message", (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "probe":
      probeCapabilities().then((capabilities) => send({ type: "capabilities", capabilities }));
      break;
    case "load":
      guard("load", () => load(m.model, m.device));
      break;
    case "generate":
      guard("generate", () => generate(m.settings));
      break;
    case "pull":
      pulled = true;
      flush();
      break;
    case "stop":
      running?.abort(new Error("stopped"));
      break;
  }
});
