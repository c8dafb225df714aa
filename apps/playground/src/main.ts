/**
 * The page: the model picker, download progress, the backend report, the generation controls and the streamed
 * output with its speed. The model runs in ./worker.ts; the page only renders what the worker says.
 */
import type { BackendReport, Capabilities, ProgressEvent } from "@mamba2/runtime";
import type { Device, FromWorker, GenerateSettings, ModelChoice, Speed, ToWorker } from "./protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "mamba2" });
const post = (m: ToWorker) => worker.postMessage(m);

/** `starting` (the page's first state) lasts until the worker has reported what this browser can do. */
type State = "starting" | "idle" | "loading" | "ready" | "generating" | "error";
let localFiles: File[] = [];
let chartPoints: number[] = [];
let hasModel = false;

function setState(state: State, status: string): void {
  document.body.dataset.state = state;
  $("status").textContent = status;
  const busy = state === "starting" || state === "loading" || state === "generating";
  $<HTMLButtonElement>("load").disabled = busy;
  $<HTMLButtonElement>("run").disabled = busy || !hasModel;
  $<HTMLButtonElement>("stop").disabled = state !== "generating";
  if (state !== "error") $("error").hidden = true;
}

function showError(message: string): void {
  $("error").textContent = message;
  $("error").hidden = false;
}

const bytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} kB` : `${n} B`);

// ---- model picker ----

function chosenModel(): ModelChoice | string {
  const kind = document.querySelector<HTMLInputElement>("input[name=source]:checked")!.value;
  if (kind === "bundled") return { kind: "bundled", url: new URL("models/mamba2-shakespeare/", document.baseURI).href };
  if (kind === "remote") {
    const source = input("remote-source").value.trim();
    if (source === "") return "Enter a Hub id (org/name) or a URL.";
    const endpoint = input("endpoint").value.trim();
    return endpoint === "" ? { kind: "remote", source } : { kind: "remote", source, endpoint };
  }
  if (localFiles.length === 0) return "Pick or drop the model's files first.";
  return { kind: "files", files: localFiles };
}

function pickFiles(files: File[]): void {
  localFiles = files;
  document.querySelector<HTMLInputElement>("input[name=source][value=files]")!.checked = true;
  $("picked").textContent = files.length === 0 ? "" : `${files.length} file${files.length === 1 ? "" : "s"}: ${files.map((f) => f.webkitRelativePath || f.name).join(", ")}`;
}

/** The files of a dropped entry, a folder read recursively (its name is left out of the paths, as a picked folder's). */
async function entryFiles(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    return [file];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const all: File[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) return all;
    for (const child of batch) all.push(...(await entryFiles(child)));
  }
}

input("files").addEventListener("change", () => pickFiles([...(input("files").files ?? [])]));
input("folder").addEventListener("change", () => pickFiles([...(input("folder").files ?? [])]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const entries = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
  const plain = [...(e.dataTransfer?.files ?? [])];
  Promise.all(entries.map(entryFiles))
    .then((lists) => pickFiles(entries.length > 0 ? lists.flat() : plain))
    .catch((err: unknown) => showError(`Could not read the dropped files: ${String(err)}`));
});
input("remote-source").addEventListener("input", () => {
  document.querySelector<HTMLInputElement>("input[name=source][value=remote]")!.checked = true;
});

$("load").addEventListener("click", () => {
  const model = chosenModel();
  if (typeof model === "string") {
    showError(model);
    return;
  }
  hasModel = false;
  $("progress").replaceChildren();
  progressRows.clear();
  setState("loading", "Loading the model…");
  post({ type: "load", model, device: $<HTMLSelectElement>("device").value as Device });
});

// ---- download progress ----

const progressRows = new Map<string, { bar: HTMLProgressElement; text: HTMLElement; loaded: number; total: number }>();

function showProgress(e: ProgressEvent): void {
  let row = progressRows.get(e.file);
  if (!row) {
    const div = document.createElement("div");
    div.className = "file";
    const label = document.createElement("label");
    label.textContent = e.file;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", `Download of ${e.file}`);
    const text = document.createElement("span");
    div.append(label, bar, text);
    $("progress").append(div);
    row = { bar, text, loaded: 0, total: 0 };
    progressRows.set(e.file, row);
  }
  row.bar.dataset.state = e.state;
  if (e.total > 0) row.bar.value = e.loaded / e.total;
  if (e.state === "done" || e.state === "cached") row.bar.value = 1;
  const size = e.total > 0 ? `${bytes(e.loaded)} / ${bytes(e.total)}` : bytes(e.loaded);
  row.text.textContent = `${e.state}${e.state === "pending" ? "" : `: ${size}`}`;
  // the model and the tokenizer report separately: the totals are summed over the files shown
  row.loaded = e.loaded;
  row.total = e.total;
  const rows = [...progressRows.values()];
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
  $("status").textContent = `Loading: ${bytes(sum((r) => r.loaded))} of ${bytes(sum((r) => Math.max(r.total, r.loaded)))}`;
}

// ---- backend panel ----

function showCapabilities(c: Capabilities): void {
  const rows: [string, string][] = [
    ["WebGPU", c.webgpu.available ? "available" : `missing: ${c.webgpu.reason ?? "no adapter"}`],
  ];
  if (c.webgpu.adapter) {
    const a = c.webgpu.adapter;
    rows.push(["Adapter", [a.vendor, a.architecture, a.device, a.description].filter((x) => x).join(" · ") || "(no details)"]);
  }
  if (c.webgpu.available) {
    rows.push(["Features", c.webgpu.features.join(", ") || "none"]);
    const l = c.webgpu.limits;
    const keys = ["maxBufferSize", "maxStorageBufferBindingSize", "maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup"];
    rows.push(["Limits", keys.filter((k) => k in l).map((k) => `${k} ${l[k]}`).join(", ")]);
  }
  rows.push(["WASM", c.wasm.available ? (c.wasm.simd ? "SIMD" : "scalar (no SIMD)") : `missing: ${c.wasm.reason ?? ""}`]);
  rows.push(["Threads", c.threads.available ? "available" : `1 (${c.threads.reason ?? ""})`]);
  rows.push(["Cores", c.threads.cores === null ? "unknown" : String(c.threads.cores)]);
  $("capabilities").replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  const missing = $("webgpu-missing");
  missing.hidden = c.webgpu.available;
  missing.textContent = c.webgpu.available
    ? ""
    : `WebGPU is not available here (${c.webgpu.reason ?? "no adapter"}): models run on WebAssembly. WebGPU needs a recent Chrome, Edge or Safari, a secure context (https or localhost) and a supported GPU.`;
}

function showSelection(selection: BackendReport[]): void {
  $("selection").replaceChildren(
    ...selection.map((s) => {
      const li = document.createElement("li");
      li.dataset.device = s.device;
      li.className = s.chosen ? "chosen" : s.available ? "" : "unavailable";
      const b = document.createElement("strong");
      b.textContent = `${s.device}${s.chosen ? " (chosen)" : ""}: `;
      li.append(b, s.reason);
      return li;
    }),
  );
}

// ---- generation ----

function num(id: string, fallback: number): number {
  const v = Number(input(id).value);
  return input(id).value.trim() !== "" && Number.isFinite(v) ? v : fallback;
}

$("generate").addEventListener("submit", (e) => {
  e.preventDefault();
  const settings: GenerateSettings = {
    prompt: $<HTMLTextAreaElement>("prompt").value,
    maxNewTokens: Math.max(1, Math.round(num("max-tokens", 64))),
    temperature: Math.max(0, num("temperature", 0.8)),
    topK: Math.max(0, Math.round(num("top-k", 0))),
    topP: Math.min(1, Math.max(0, num("top-p", 1))),
    repetitionPenalty: Math.max(0.01, num("repetition-penalty", 1)),
    seed: Math.round(num("seed", 0)) >>> 0,
  };
  $("prompt-echo").textContent = settings.prompt;
  $("generated").textContent = "";
  chartPoints = [];
  drawChart();
  $("stats").textContent = "";
  setState("generating", "Generating…");
  post({ type: "generate", settings });
  post({ type: "pull" });
});

$("stop").addEventListener("click", () => post({ type: "stop" }));

function showSpeed(s: Speed): void {
  const prefill = s.prefillPerS === null ? "…" : `${s.prefillPerS.toFixed(1)} tokens/s`;
  const decode = s.decodePerS === null ? "…" : `${s.decodePerS.toFixed(1)} tokens/s`;
  $("stats").textContent = `prefill ${s.promptTokens} tokens: ${prefill} · decode ${s.tokens} tokens: ${decode}`;
}

/** Decode tokens/s of each step, as a line over the generation. */
function drawChart(): void {
  const canvas = $<HTMLCanvasElement>("chart");
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#666";
  ctx.font = "12px sans-serif";
  if (chartPoints.length < 2) {
    ctx.fillText("decode tokens/s", 4, 14);
    return;
  }
  const top = Math.max(...chartPoints) * 1.1;
  ctx.fillText(`decode tokens/s (max ${Math.max(...chartPoints).toFixed(1)})`, 4, 14);
  ctx.strokeStyle = "#2563eb";
  ctx.lineWidth = 2;
  ctx.beginPath();
  chartPoints.forEach((v, i) => {
    const x = (i / (chartPoints.length - 1)) * (w - 8) + 4;
    const y = h - 4 - (v / top) * (h - 24);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

// ---- the worker's messages ----

worker.addEventListener("message", (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "capabilities":
      showCapabilities(m.capabilities);
      setState("idle", "Pick a model and load it.");
      break;
    case "progress":
      showProgress(m.event);
      break;
    case "loaded":
      hasModel = true;
      showSelection(m.selection);
      setState("ready", `Loaded ${m.name} on ${m.device} in ${m.seconds.toFixed(1)} s.`);
      break;
    case "chunk":
      $("generated").append(m.text);
      chartPoints.push(...m.steps);
      showSpeed(m.speed);
      requestAnimationFrame(() => {
        drawChart();
        post({ type: "pull" });
      });
      break;
    case "done":
      showSpeed(m.speed);
      drawChart();
      setState("ready", m.reason === "stopped" ? "Stopped." : m.reason === "eos" ? "Done: end of text." : "Done: max tokens.");
      break;
    case "error":
      if (m.during === "load") hasModel = false;
      setState(m.during === "load" ? "error" : "ready", m.during === "load" ? "Loading failed." : "Generation failed.");
      if (m.during === "generate") document.body.dataset.state = "error";
      showError(m.message);
      break;
  }
});
worker.addEventListener("error", (e) => {
  setState("error", "The worker failed.");
  showError(`The worker failed: ${e.message || "it could not start"}`);
});

drawChart();
post({ type: "probe" });
