import type { Backend, SsmParams, Tensor } from "./backend.js";
import { Mamba2Cache } from "./cache.js";
import { dimsOf, type Mamba2Config, type Mamba2Dims } from "./config.js";
import { fail } from "./errors.js";
import { type HostTensor, isHostTensor } from "./host-tensor.js";
import type { LoraPair, LoraWeights } from "./lora.js";
import { Mamba2Session, type GenerateOptions, type GenerationDelta } from "./session.js";
import type { DrawOptions } from "./sampling.js";
import type { ModelWeights } from "./weights.js";

export interface ModelOptions {
  /**
   * Normalize the gated RMSNorm per group of E/G channels, as mamba_ssm does, instead of over all E channels
   * as transformers does. They differ only when n_groups > 1. Default false (transformers' behaviour).
   */
  groupedGatedNorm?: boolean;
}

/** Token ids [B, T] as rows of equal length, or one row. */
/** A device draw: the sampling options and one uniform number in [0, 1) per row. */
export interface DeviceDraw {
  readonly options: DrawOptions;
  readonly u: Float32Array;
}

export type TokenIds = readonly (readonly number[])[] | readonly number[];

export interface ForwardOptions<T extends Tensor = Tensor> {
  /** Continue from (and update) this state; without it the forward starts from the empty state. */
  cache?: Mamba2Cache<T>;
  /** [B, T] of 0/1: 0 marks a padded position, which is treated as absent. */
  attentionMask?: readonly (readonly number[])[];
  /** Which positions to compute logits for (default "all"). */
  logits?: "all" | "last" | "none";
  /** Also return the last hidden state (after norm_f) [B, T, D]. */
  hidden?: boolean;
  /** Also return the hidden state after each block (before norm_f), [B, T, D] per layer. */
  layerOutputs?: boolean;
}

export interface ForwardResult {
  /** [B, T, V] for "all", [B, V] for "last", null for "none". */
  readonly logits: Float32Array | null;
  readonly hidden: Float32Array | null;
  readonly layerOutputs: Float32Array[] | null;
  readonly batch: number;
  readonly steps: number;
}

/** Preallocated activations for one (B, T). */
interface Workspace<T extends Tensor> {
  ids: T; mask: T; h: T; hn: T; zxbcdt: T; xbc: T; y: T; g: T; mixed: T;
  lastRows: T; hLast: T; logitsLast: T; logitsAll: T | null; tokens: T; draws: T;
  /** LoRA intermediates, allocated on first use, by role and shape. */
  scratch: Map<string, T>;
}

/** One model call's input: ids, or embeddings [B·T, D] (transformers' inputs_embeds). */
interface RunInput<T extends Tensor> {
  batch: number;
  steps: number;
  ids: Int32Array | null;
  embeds: Float32Array | null;
  /** One step's ids already on the device (see DeviceStep). */
  device: DeviceStep<T> | null;
}

/** A decode step's choice of tokens into `tokens` (i32 [B]); `key` names it and its options (see run). */
interface Pick<T extends Tensor> {
  readonly key: string;
  record(ws: Workspace<T>, tokens: T): void;
}

/**
 * The device side of a decode step whose ids need not come from the host (a generation records step n + 1 before
 * it reads step n's tokens): `tokens` (i32 [B]) holds each row's last token, the step's input, and receives its
 * output; `backup` gets a copy of the cache as it was before the step, so that the step can be undone.
 */
export interface DeviceStep<T extends Tensor> {
  readonly tokens: T;
  readonly backup: Mamba2Cache<T>;
}

/** A Mamba2 language model on one backend. Holds the weights; state lives in a Mamba2Cache. */
export class Mamba2Model<T extends Tensor = Tensor> {
  readonly dims: Mamba2Dims;
  private readonly ssm: SsmParams;
  private readonly gatedNormGroup: number;
  private readonly workspaces = new Map<string, Workspace<T>>();
  /** The LoRA adapter applied at run time (see lora.ts's uploadLora); null: none. */
  lora: LoraWeights<T> | null = null;

  constructor(
    readonly config: Mamba2Config,
    readonly backend: Backend<T>,
    readonly weights: ModelWeights<T>,
    options: ModelOptions = {},
  ) {
    this.dims = dimsOf(config);
    this.ssm = Object.freeze({
      groups: config.n_groups,
      stateSize: config.state_size,
      chunkSize: config.chunk_size,
      dtMin: config.time_step_limit[0],
      dtMax: config.time_step_limit[1],
    });
    this.gatedNormGroup = options.groupedGatedNorm ? this.dims.inner / config.n_groups : this.dims.inner;
  }

  createCache(batch = 1): Mamba2Cache<T> {
    if (!Number.isInteger(batch) || batch < 1) fail(`batch size must be a positive integer, found ${batch}`);
    return new Mamba2Cache(this.backend, this.dims, batch);
  }

  /**
   * ids [B, T] (or embeddings [B, T, D]) → logits [B, T, V] (and/or the last hidden state), continuing from
   * `cache` when given.
   */
  async forward(ids: TokenIds | HostTensor, options: ForwardOptions<T> = {}): Promise<ForwardResult> {
    const input = this.input(ids);
    const { batch, steps } = input;
    const cache = options.cache ?? this.createCache(batch);
    const mode = options.logits ?? "all";
    const b = this.backend;
    const layerOut = options.layerOutputs ? this.weights.layers.map(() => b.zeros([batch * steps, this.dims.hidden], "f32")) : null;
    try {
      const ws = this.run(input, options.attentionMask, cache, layerOut);
      const logits = mode === "none" ? null : this.head(ws, mode, options.hidden);
      if (options.hidden && mode === "none") this.finalNorm(ws);
      return {
        logits: logits ? await b.readF32(logits) : null,
        hidden: options.hidden ? await b.readF32(ws.hn) : null,
        layerOutputs: layerOut ? await Promise.all(layerOut.map((t) => b.readF32(t))) : null,
        batch,
        steps,
      };
    } finally {
      if (!options.cache) cache.free();
      for (const t of layerOut ?? []) b.free(t);
    }
  }

  /** The input embeddings of ids [B, T] (with the LoRA adapter's, when one is set): [B·T, D]. */
  async embed(ids: TokenIds): Promise<Float32Array> {
    const input = this.input(ids);
    const ws = this.workspace(input.batch, input.steps);
    this.backend.write(ws.ids, input.ids!);
    this.embedInto(ws, ws.ids);
    return this.backend.readF32(ws.h);
  }

  /**
   * Feeds ids [B, T] through the model (updating `cache`) and picks the next token of each row on the device:
   * argmax of the last position's logits. Reads back only B ids. With a DeviceStep the ids are one step's
   * tokens already on the device (and everything up to the read is recorded before this returns).
   */
  async nextGreedy(ids: TokenIds | DeviceStep<T>, cache: Mamba2Cache<T>, attentionMask?: ForwardOptions["attentionMask"]): Promise<Int32Array> {
    return this.runPick(this.input(ids), attentionMask, cache, { key: "argmax", record: (ws, tokens) => this.backend.kernels.argmax(tokens, this.head(ws, "last")) });
  }

  /**
   * Like nextGreedy, but draws each row's token on the device (`Kernels.sample`, which the backend must have) with
   * u[b], a uniform draw in [0, 1) per row. Reads back only B ids.
   */
  async nextSampled(ids: TokenIds | DeviceStep<T>, cache: Mamba2Cache<T>, draw: DeviceDraw, attentionMask?: ForwardOptions["attentionMask"]): Promise<Int32Array> {
    const sample = this.backend.kernels.sample;
    if (!sample) fail(`the ${this.backend.name} backend cannot sample on the device`);
    const input = this.input(ids);
    if (draw.u.length !== input.batch) fail(`nextSampled: ${draw.u.length} draws for ${input.batch} rows`);
    this.backend.write(this.workspace(input.batch, input.steps).draws, draw.u); // before the step: one submit
    const o = draw.options;
    const pick: Pick<T> = {
      key: `sample ${o.temperature} ${o.topK} ${o.topP} ${o.minP}`,
      record: (ws, tokens) => sample.call(this.backend.kernels, tokens, this.head(ws, "last"), ws.draws, o),
    };
    return this.runPick(input, attentionMask, cache, pick);
  }

  /** Runs the blocks and `pick`, then reads the tokens it chose (into ws.tokens, or a DeviceStep's tokens). */
  private async runPick(input: RunInput<T>, attentionMask: ForwardOptions["attentionMask"], cache: Mamba2Cache<T>, pick: Pick<T>): Promise<Int32Array> {
    const ws = this.run(input, attentionMask, cache, null, pick);
    return this.backend.readI32(input.device?.tokens ?? ws.tokens);
  }

  /** Like nextGreedy, but returns the last position's logits [B, V] for sampling on the host. */
  async nextLogits(ids: TokenIds, cache: Mamba2Cache<T>, attentionMask?: ForwardOptions["attentionMask"]): Promise<Float32Array> {
    const ws = this.run(this.input(ids), attentionMask, cache);
    return this.backend.readF32(this.head(ws, "last"));
  }

  /** A generation session: the state of B sequences that successive `generate` calls continue. */
  createSession(): Mamba2Session<T> {
    return new Mamba2Session(this);
  }

  /**
   * Streams the continuation of one prompt or a batch of prompts of different lengths (each row exactly its
   * unbatched run) from the empty state: `{row, token, text}` deltas (see Mamba2Session.generate).
   */
  async *generate(prompt: TokenIds, options: GenerateOptions = {}): AsyncGenerator<GenerationDelta, void, undefined> {
    const session = this.createSession();
    try {
      yield* session.generate(prompt, options);
    } finally {
      session.free();
    }
  }

  /** Frees the workspaces (the weights stay). */
  releaseWorkspaces(): void {
    for (const ws of this.workspaces.values()) this.freeWorkspace(ws);
    this.workspaces.clear();
  }

  /** Checks ids [B, T] as every call does (equal rows, ids in range); returns them as rows. */
  checkIds(ids: TokenIds): (readonly number[])[] {
    const rows = (ids.length > 0 && typeof ids[0] === "number" ? [ids] : ids) as (readonly number[])[];
    if (rows.length === 0 || rows[0].length === 0) fail("input ids are empty");
    const steps = rows[0].length;
    const vocab = this.dims.vocab;
    rows.forEach((row, b) => {
      if (!Array.isArray(row) && !ArrayBuffer.isView(row)) fail(`input ids row ${b} is not a list of ids`);
      if (row.length !== steps) fail(`input ids rows differ in length: row 0 has ${steps}, row ${b} has ${row.length} (left-pad them)`);
      for (const id of row) {
        if (!Number.isInteger(id) || id < 0 || id >= vocab) fail(`token id ${id} in row ${b} is out of range [0, ${vocab})`);
      }
    });
    return rows;
  }

  /** Ids [B, T] (checked) or embeddings [B, T, D] as one call's input. */
  private input(x: TokenIds | HostTensor | DeviceStep<T>): RunInput<T> {
    if (isDeviceStep(x)) return { batch: x.tokens.shape[0], steps: 1, ids: null, embeds: null, device: x };
    if (!isHostTensor(x)) {
      const rows = this.checkIds(x);
      return { batch: rows.length, steps: rows[0].length, ids: Int32Array.from(rows.flat()), embeds: null, device: null };
    }
    const [batch, steps, width] = x.dims;
    if (x.dims.length !== 3 || !(batch > 0 && steps > 0) || width !== this.dims.hidden) {
      fail(`input embeddings must have dims [batch, tokens, ${this.dims.hidden}], found [${x.dims.join(", ")}]`);
    }
    if (x.data.length !== batch * steps * width) fail(`input embeddings of dims [${x.dims.join(", ")}] hold ${x.data.length} values, expected ${batch * steps * width}`);
    return { batch, steps, ids: null, embeds: x.data, device: null };
  }

  private maskTensor(input: RunInput<T>, mask: ForwardOptions["attentionMask"]): Int32Array | null {
    if (!mask) return null;
    const { batch, steps } = input;
    if (mask.length !== batch || mask.some((r) => r.length !== steps)) {
      fail(`attention mask shape [${mask.length}, ${mask[0]?.length}] does not match the ${input.ids ? "ids" : "input embeddings"} [${batch}, ${steps}]`);
    }
    const flat = Int32Array.from(mask.flat());
    if (flat.some((v) => v !== 0 && v !== 1)) fail("attention mask values must be 0 or 1");
    return flat.every((v) => v === 1) ? null : flat;
  }

  /**
   * The blocks: leaves the last hidden state (before norm_f) in ws.h, then records `pick` (a step's choice of
   * tokens into ws.tokens, or a DeviceStep's tokens, its input). A DeviceStep's commands are the same every step,
   * so a backend that can replay them (Backend.replay) records them once per model, adapter, cache, step, mask
   * presence and pick.
   */
  private run(input: RunInput<T>, attentionMask: ForwardOptions["attentionMask"], cache: Mamba2Cache<T>, layerOut: T[] | null = null, pick?: Pick<T>): Workspace<T> {
    const { batch, steps, device } = input;
    if (cache.batch !== batch) fail(`cache holds ${cache.batch} sequences but the input has ${batch} rows`);
    const mask = this.maskTensor(input, attentionMask);
    const ws = this.workspace(batch, steps);
    const be = this.backend;
    // every write before the first kernel: one submit per call on a GPU
    if (mask) be.write(ws.mask, mask);
    if (input.ids) be.write(ws.ids, input.ids);
    if (input.embeds) be.write(ws.h, input.embeds);
    const record = () => {
      if (device) device.backup.copyFrom(cache);
      if (!input.embeds) this.embedInto(ws, device?.tokens ?? ws.ids);
      this.blocks(ws, mask ? ws.mask : null, cache, layerOut);
      if (pick) pick.record(ws, device?.tokens ?? ws.tokens);
    };
    if (device && pick && be.replay) {
      be.replay([this, this.lora, cache, device].map(objectId).join(" ") + ` ${mask ? "masked" : "full"} ${pick.key}`, record);
      device.backup.seqLen = cache.seqLen; // what copyFrom sets, when the replay does not call it
    } else {
      record();
    }
    cache.seqLen += steps;
    return ws;
  }

  /** Every block over ws.h (in place), updating the cache. */
  private blocks(ws: Workspace<T>, maskT: T | null, cache: Mamba2Cache<T>, layerOut: T[] | null): void {
    const { weights: w, config: c, dims: d, lora } = this;
    const k = this.backend.kernels;
    const steps = ws.xbc.shape[1];
    const eps = c.layer_norm_epsilon;
    w.layers.forEach((lw, l) => {
      // the fused kernels where the backend has them (and no adapter needs the normalized input)
      const conv = { offset: d.inner, weight: lw.convWeight, bias: lw.convBias, state: cache.conv[l], mask: maskT, activation: c.hidden_act };
      if (k.rmsNormMatmulConv && steps === 1 && !lora?.inProj[l]) {
        k.rmsNormMatmulConv(ws.zxbcdt, ws.xbc, ws.h, lw.norm, eps, lw.inProj, lw.inProjBias, conv);
      } else {
        if (k.rmsNormMatmul && !lora?.inProj[l]) {
          k.rmsNormMatmul(ws.zxbcdt, ws.h, lw.norm, eps, lw.inProj, lw.inProjBias);
        } else {
          k.rmsNorm(ws.hn, ws.h, lw.norm, eps);
          k.matmul(ws.zxbcdt, ws.hn, lw.inProj, lw.inProjBias);
          this.addLora(ws, ws.zxbcdt, ws.hn, lora?.inProj[l]);
        }
        k.causalConv1d(ws.xbc, ws.zxbcdt, conv.offset, conv.weight, conv.bias, conv.state, conv.mask, conv.activation);
      }
      const ssm = steps === 1 ? k.ssmStep : k.ssdScan;
      ssm(ws.y, ws.xbc, ws.zxbcdt, { dtBias: lw.dtBias, A: lw.A, D: lw.D }, cache.ssm[l], maskT, this.ssm);
      if (k.gatedNormMatmulAdd && !lora?.outProj[l]) {
        k.gatedNormMatmulAdd(ws.h, ws.y, ws.zxbcdt, lw.gatedNorm, eps, this.gatedNormGroup, lw.outProj, lw.outProjBias);
      } else {
        k.gatedRmsNorm(ws.g, ws.y, ws.zxbcdt, lw.gatedNorm, eps, this.gatedNormGroup);
        k.matmul(ws.mixed, ws.g, lw.outProj, lw.outProjBias);
        this.addLora(ws, ws.mixed, ws.g, lora?.outProj[l]);
        k.add(ws.h, ws.h, ws.mixed);
      }
      if (layerOut) this.backend.copy(layerOut[l], ws.h);
    });
  }

  /** ws.h ← the embeddings of ids (i32 [B·T]), plus the LoRA adapter's. */
  private embedInto(ws: Workspace<T>, ids: T): void {
    const k = this.backend.kernels;
    k.embedding(ws.h, this.weights.embeddings, ids);
    const e = this.lora?.embeddings;
    if (e) {
      const mid = this.scratch(ws, "lora", [ws.h.shape[0], e.rank]);
      k.embedding(mid, e.A, ids);
      this.addLoraB(ws, ws.h, mid, e);
    }
  }

  /** out += scaling·B·(A·x) for a LoRA-adapted linear layer (nothing without one). out [R, O], x [R, I]. */
  private addLora(ws: Workspace<T>, out: T, x: T, pair: LoraPair<T> | null | undefined): void {
    if (!pair) return;
    const mid = this.scratch(ws, "lora", [x.shape[0], pair.rank]);
    this.backend.kernels.matmul(mid, x, pair.A, null);
    this.addLoraB(ws, out, mid, pair);
  }

  private addLoraB(ws: Workspace<T>, out: T, mid: T, pair: LoraPair<T>): void {
    const k = this.backend.kernels;
    const delta = this.scratch(ws, "delta", out.shape);
    k.matmul(delta, mid, pair.B, null);
    k.add(out, out, delta);
  }

  private scratch(ws: Workspace<T>, role: string, shape: readonly number[]): T {
    const key = `${role}:${shape.join("x")}`;
    let t = ws.scratch.get(key);
    if (!t) ws.scratch.set(key, (t = this.backend.zeros(shape, "f32")));
    return t;
  }

  private freeWorkspace(ws: Workspace<T>): void {
    const { scratch, ...tensors } = ws;
    for (const t of [...Object.values(tensors), ...scratch.values()]) if (t) this.backend.free(t);
  }

  /** ws.hn ← norm_f(ws.h). */
  private finalNorm(ws: Workspace<T>): void {
    this.backend.kernels.rmsNorm(ws.hn, ws.h, this.weights.normF, this.config.layer_norm_epsilon);
  }

  /**
   * norm_f, then lm_head over every position [B·T, V] or over the last position of each row [B, V]. ws.hn holds
   * norm_f's output afterwards when `keepNormed` (otherwise a decode step may fold the norm into lm_head).
   */
  private head(ws: Workspace<T>, which: "all" | "last", keepNormed = false): T {
    const k = this.backend.kernels;
    const lora = this.lora?.lmHead;
    const oneStep = ws.h.shape[0] === ws.hLast.shape[0];
    if (which === "last" && oneStep && k.rmsNormMatmul && !lora && !keepNormed) {
      // a decode step: the rows are the last positions, the norm folded into lm_head
      k.rmsNormMatmul(ws.logitsLast, ws.h, this.weights.normF, this.config.layer_norm_epsilon, this.weights.lmHead, null);
      return ws.logitsLast;
    }
    this.finalNorm(ws);
    if (which === "all") {
      ws.logitsAll ??= this.backend.zeros([ws.hn.shape[0], this.dims.vocab], "f32");
      k.matmul(ws.logitsAll, ws.hn, this.weights.lmHead, null);
      this.addLora(ws, ws.logitsAll, ws.hn, lora);
      return ws.logitsAll;
    }
    const last = oneStep ? ws.hn : ws.hLast;
    if (!oneStep) k.embedding(ws.hLast, ws.hn, ws.lastRows);
    k.matmul(ws.logitsLast, last, this.weights.lmHead, null);
    this.addLora(ws, ws.logitsLast, last, lora);
    return ws.logitsLast;
  }

  private workspace(batch: number, steps: number): Workspace<T> {
    const key = `${batch}x${steps}`;
    let ws = this.workspaces.get(key);
    if (ws) return ws;
    const { hidden: D, inner: E, convDim, inProj, heads: H, headDim: P, vocab: V } = this.dims;
    const be = this.backend;
    const R = batch * steps;
    const f32 = (...shape: number[]) => be.zeros(shape, "f32");
    ws = {
      ids: be.zeros([R], "i32"),
      mask: be.zeros([batch, steps], "i32"),
      h: f32(R, D),
      hn: f32(R, D),
      zxbcdt: f32(R, inProj),
      xbc: f32(batch, steps, convDim),
      y: f32(batch, steps, H, P),
      g: f32(R, E),
      mixed: f32(R, D),
      lastRows: be.zeros([batch], "i32"),
      hLast: f32(batch, D),
      logitsLast: f32(batch, V),
      logitsAll: null, // allocated on first use: [B·T, V] can be large
      tokens: be.zeros([batch], "i32"),
      draws: f32(batch),
      scratch: new Map(),
    };
    be.write(ws.lastRows, Int32Array.from({ length: batch }, (_, b) => b * steps + steps - 1));
    // Keep the decode workspace and the latest prefill one; drop older prefill shapes.
    for (const [other, old] of this.workspaces) {
      if (!other.endsWith("x1")) {
        this.freeWorkspace(old);
        this.workspaces.delete(other);
      }
    }
    this.workspaces.set(key, ws);
    return ws;
  }
}

const objectIds = new WeakMap<object, number>();
let lastObjectId = 0;

/** A number naming the object for the life of the process (0 for null). */
function objectId(o: object | null): number {
  if (!o) return 0;
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = ++lastObjectId));
  return id;
}

function isDeviceStep<T extends Tensor>(x: TokenIds | HostTensor | DeviceStep<T>): x is DeviceStep<T> {
  return typeof x === "object" && x !== null && "backup" in x;
}
