import { buildModel, type Mamba2Model, type Mamba2Config, MODEL_SHAPES, shapeConfig, syntheticWeights, tensorBytes, type WeightDType } from "@mamba2/core";
import { loadModelFromDir } from "@mamba2/core/node";
import { createWasmBackend, type WasmBackend } from "@mamba2/wasm-kernels";
import { type Flags, numberFlag, stringFlag, UsageError } from "./args.js";
import { backendFrom } from "./model.js";

export const BENCH_FLAGS = ["model", "shape", "dtype", "backend", "threads", "batch", "prompt-tokens", "gen-tokens"];

const DTYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k"];

export const BENCH_HELP = `mamba2 bench [--model DIR | --shape ${Object.keys(MODEL_SHAPES).join("|")}] [--dtype ${DTYPES.join("|")}]
  [--backend auto|webgpu|wasm|reference] [--threads N] [--batch B] [--prompt-tokens 512] [--gen-tokens 128] [--baseline] [--json]

Prefill and decode speed. --shape makes deterministic random weights of that released model's shape in
memory (no files; a quantized --dtype quantizes the matrices, the rest stays f32). Prints the memory bandwidth of
the backend's device (on the CPU: read by a WebAssembly SIMD loop on the same number of threads; on a GPU: read by
a compute kernel) and the decode limit it implies (bytes of weights per token / bandwidth). --baseline adds a short run of the reference backend and the
speedups against it. --json prints one object.`;

interface Result {
  backend: string;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
}

/** Decode steps of the warm-up (at most genTokens). */
const WARM_STEPS = 32;

/**
 * Times one prefill of B × promptTokens ids (which picks the first token) in a new session, then genTokens greedy
 * decode steps, as a generation session runs them (on a queued backend, each step recorded while the one before
 * runs), in a session warmed up by the same prefill and WARM_STEPS decode steps (as llama-bench times a warmed-up
 * context): JavaScript engines optimize WebAssembly and JS after their first calls (on the lent H200 a process's
 * first 128 decode steps ran at 1,428 tok/s, the next 128 at 1,619–1,673), a GPU compiles the pipelines of each
 * code path on first use, and a WebGPU session records its decode step once, then replays it.
 */
async function measure(model: Mamba2Model, batch: number, promptTokens: number, genTokens: number): Promise<Result> {
  const vocab = model.dims.vocab;
  const prompt = Array.from({ length: batch }, (_, b) => Array.from({ length: promptTokens }, (_, t) => (b * 7919 + t * 104729) % vocab));
  const greedy = (maxNewTokens: number) => ({ maxNewTokens, eosTokenId: null });
  const warm = model.createSession();
  await warm.complete(prompt, greedy(1));
  await warm.complete(undefined, greedy(Math.min(WARM_STEPS, genTokens)));
  const fresh = model.createSession();
  let t0 = performance.now();
  await fresh.complete(prompt, greedy(1));
  const prefill = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await warm.complete(undefined, greedy(genTokens));
  const decode = (performance.now() - t0) / 1000;
  fresh.free(); // after the decode: freeing a tensor drops the WebGPU backend's recorded steps
  warm.free();
  model.releaseWorkspaces();
  return { backend: model.backend.name, prefill_tokens_per_s: (batch * promptTokens) / prefill, decode_tokens_per_s: (batch * genTokens) / decode };
}

/**
 * The memory bandwidth of the backend's device in bytes per second, and how it was read: the backend's own probe
 * (a GPU), else the best of 3 reads of 256 MiB with the WASM SIMD loop on `threads` threads.
 */
async function bandwidth(backend: Mamba2Model["backend"], threads: number): Promise<{ bw: number; probe: string }> {
  if (backend.memoryBandwidth) return { bw: await backend.memoryBandwidth(), probe: `${backend.name} read kernel` };
  const probe = await createWasmBackend({ threads });
  const bytes = 256 * 2 ** 20;
  const seconds = Math.min(...[0, 1, 2].map(() => probe.readBandwidth(bytes)));
  probe.dispose();
  return { bw: bytes / seconds, probe: `wasm read, ${threads} thread(s)` };
}

export async function benchCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  const dir = stringFlag(flags, "model");
  const shape = stringFlag(flags, "shape");
  if (dir !== undefined && shape !== undefined) throw new UsageError("bench takes --model or --shape, not both");
  if (shape !== undefined && !(shape in MODEL_SHAPES)) throw new UsageError(`--shape must be one of ${Object.keys(MODEL_SHAPES).join(", ")}, found '${shape}'`);
  const dtype = (stringFlag(flags, "dtype") ?? "f32") as WeightDType;
  if (!DTYPES.includes(dtype)) throw new UsageError(`--dtype must be one of ${DTYPES.join(", ")}, found '${dtype}'`);
  if (dir !== undefined && stringFlag(flags, "dtype") !== undefined) throw new UsageError("--dtype applies to --shape; a --model keeps its file's dtype");
  const threads = numberFlag(flags, "threads", { integer: true, min: 1 }) ?? 1;
  const batch = numberFlag(flags, "batch", { integer: true, min: 1 }) ?? 1;
  const promptTokens = numberFlag(flags, "prompt-tokens", { integer: true, min: 1 }) ?? 512;
  const genTokens = numberFlag(flags, "gen-tokens", { integer: true, min: 1 }) ?? 128;

  const load = async (backendFlags: Flags): Promise<{ model: Mamba2Model; config: Mamba2Config }> => {
    const backend = await backendFrom(backendFlags);
    if (dir !== undefined) {
      const model = await loadModelFromDir(dir, { backend });
      return { model, config: model.config };
    }
    const config = shapeConfig(shape ?? "130m");
    return { model: await buildModel(config, syntheticWeights(config, dtype), { backend }), config };
  };
  const { model } = await load(flags);
  const weightBytes = weightBytesOf(model);
  const result = await measure(model, batch, promptTokens, genTokens);
  const { bw, probe } = await bandwidth(model.backend, threads);
  // The reference backend is the baseline: a short run (its speed per token hardly depends on the lengths).
  const baseline = flags.baseline === true ? await measure((await load({ backend: "reference" })).model, batch, Math.min(promptTokens, 64), Math.min(genTokens, 4)) : null;

  const wasm = model.backend.name === "wasm" ? (model.backend as unknown as WasmBackend) : null;
  const summary = {
    model: dir ?? `random ${shape ?? "130m"}`,
    dtype: dir ? "file" : dtype,
    ...result,
    // which WASM build ran (relaxed SIMD where the engine validates it)
    ...(wasm ? { wasm_build: wasm.relaxedSimd ? "relaxed simd" : wasm.simd ? "simd" : "scalar" } : {}),
    // whether f16 blocks holding subnormal halves are widened exactly (the backend's timing of this CPU)
    ...(wasm ? { subnormal_map: wasm.subnormalMap } : {}),
    threads,
    batch,
    prompt_tokens: promptTokens,
    gen_tokens: genTokens,
    weight_bytes: weightBytes,
    bandwidth_gb_per_s: bw / 1e9,
    bandwidth_probe: probe,
    decode_limit_tokens_per_s: (batch * bw) / weightBytes,
    baseline,
  };
  if (flags.json === true) {
    out(JSON.stringify(summary) + "\n");
    return;
  }
  const rows: [string, string, string][] = [["", "prefill tok/s", "decode tok/s"], [result.backend, fmt(result.prefill_tokens_per_s), fmt(result.decode_tokens_per_s)]];
  if (baseline) {
    rows.push([`${baseline.backend} (baseline)`, fmt(baseline.prefill_tokens_per_s), fmt(baseline.decode_tokens_per_s)]);
    rows.push(["speedup", `${fmt(result.prefill_tokens_per_s / baseline.prefill_tokens_per_s)}×`, `${fmt(result.decode_tokens_per_s / baseline.decode_tokens_per_s)}×`]);
  }
  const width = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  out(`${summary.model}, ${summary.dtype}, batch ${batch}, ${promptTokens}-token prompt, ${genTokens} decode steps${wasm ? `, ${threads} thread(s), ${summary.wasm_build} build` : ""}\n`);
  for (const r of rows) out(`| ${r.map((v, c) => v.padEnd(width[c])).join(" | ")} |\n`);
  out(`memory bandwidth ${fmt(bw / 1e9)} GB/s (${probe}); ${fmt(weightBytes / 1e6)} MB of weights per token → decode limit ${fmt(summary.decode_limit_tokens_per_s)} tok/s\n`);
}

/** Bytes of weights one decode step reads: every tensor but the embedding table, of which it reads one row. */
function weightBytesOf(model: Mamba2Model): number {
  const seen = new Set<unknown>();
  let total = 0;
  const add = (t: { shape: readonly number[]; dtype: WeightDType | "i32" } | null) => {
    if (t && !seen.has(t)) {
      seen.add(t);
      total += tensorBytes(t.shape, t.dtype);
    }
  };
  const w = model.weights;
  [w.normF, w.lmHead].forEach(add);
  for (const l of w.layers) Object.values(l).forEach(add);
  return total;
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
