import type { Backend, SsmParams, Tensor } from "./backend.js";
import { Mamba2Cache } from "./cache.js";
import { dimsOf, type Mamba2Config, type Mamba2Dims } from "./config.js";
import { fail } from "./errors.js";
import { Mamba2Session, type GenerateOptions, type GenerationDelta } from "./session.js";
import type { ModelWeights } from "./weights.js";

export interface ModelOptions {
  /**
   * Normalize the gated RMSNorm per group of E/G channels, as mamba_ssm does, instead of over all E channels
   * as transformers does. They differ only when n_groups > 1. Default false (transformers' behaviour).
   */
  groupedGatedNorm?: boolean;
}

/** Token ids [B, T] as rows of equal length, or one row. */
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
}

export interface ForwardResult {
  /** [B, T, V] for "all", [B, V] for "last", null for "none". */
  readonly logits: Float32Array | null;
  readonly hidden: Float32Array | null;
  readonly batch: number;
  readonly steps: number;
}

/** Preallocated activations for one (B, T). */
interface Workspace<T extends Tensor> {
  ids: T; mask: T; h: T; hn: T; zxbcdt: T; xbc: T; y: T; g: T; mixed: T;
  lastRows: T; hLast: T; logitsLast: T; logitsAll: T | null; tokens: T;
}

/** A Mamba2 language model on one backend. Holds the weights; state lives in a Mamba2Cache. */
export class Mamba2Model<T extends Tensor = Tensor> {
  readonly dims: Mamba2Dims;
  private readonly ssm: SsmParams;
  private readonly gatedNormGroup: number;
  private readonly workspaces = new Map<string, Workspace<T>>();

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

  /** ids [B, T] → logits [B, T, V] (and/or the last hidden state), continuing from `cache` when given. */
  async forward(ids: TokenIds, options: ForwardOptions<T> = {}): Promise<ForwardResult> {
    const rows = this.checkIds(ids);
    const batch = rows.length;
    const steps = rows[0].length;
    const cache = options.cache ?? this.createCache(batch);
    const mode = options.logits ?? "all";
    try {
      const ws = this.run(rows, options.attentionMask, cache);
      const logits = mode === "none" ? null : this.head(ws, mode);
      const b = this.backend;
      return {
        logits: logits ? await b.readF32(logits) : null,
        hidden: options.hidden ? await b.readF32(ws.hn) : null,
        batch,
        steps,
      };
    } finally {
      if (!options.cache) cache.free();
    }
  }

  /**
   * Feeds ids [B, T] through the model (updating `cache`) and picks the next token of each row on the device:
   * argmax of the last position's logits. Reads back only B ids.
   */
  async nextGreedy(ids: TokenIds, cache: Mamba2Cache<T>, attentionMask?: ForwardOptions["attentionMask"]): Promise<Int32Array> {
    const ws = this.run(this.checkIds(ids), attentionMask, cache);
    this.backend.kernels.argmax(ws.tokens, this.head(ws, "last"));
    return this.backend.readI32(ws.tokens);
  }

  /** Like nextGreedy, but returns the last position's logits [B, V] for sampling on the host. */
  async nextLogits(ids: TokenIds, cache: Mamba2Cache<T>, attentionMask?: ForwardOptions["attentionMask"]): Promise<Float32Array> {
    const ws = this.run(this.checkIds(ids), attentionMask, cache);
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
    for (const ws of this.workspaces.values()) for (const t of Object.values(ws)) if (t) this.backend.free(t);
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

  private maskTensor(rows: (readonly number[])[], mask: ForwardOptions["attentionMask"]): Int32Array | null {
    if (!mask) return null;
    const steps = rows[0].length;
    if (mask.length !== rows.length || mask.some((r) => r.length !== steps)) {
      fail(`attention mask shape [${mask.length}, ${mask[0]?.length}] does not match the ids [${rows.length}, ${steps}]`);
    }
    const flat = Int32Array.from(mask.flat());
    if (flat.some((v) => v !== 0 && v !== 1)) fail("attention mask values must be 0 or 1");
    return flat.every((v) => v === 1) ? null : flat;
  }

  /** The blocks and norm_f: leaves the final normalized hidden state in ws.hn. */
  private run(rows: (readonly number[])[], attentionMask: ForwardOptions["attentionMask"], cache: Mamba2Cache<T>): Workspace<T> {
    const batch = rows.length;
    const steps = rows[0].length;
    if (cache.batch !== batch) fail(`cache holds ${cache.batch} sequences but the input has ${batch} rows`);
    const mask = this.maskTensor(rows, attentionMask);
    const ws = this.workspace(batch, steps);
    const { backend: be, weights: w, config: c, dims: d } = this;
    const k = be.kernels;
    be.write(ws.ids, Int32Array.from(rows.flat()));
    if (mask) be.write(ws.mask, mask);
    const maskT = mask ? ws.mask : null;
    const eps = c.layer_norm_epsilon;
    k.embedding(ws.h, w.embeddings, ws.ids);
    w.layers.forEach((lw, l) => {
      k.rmsNorm(ws.hn, ws.h, lw.norm, eps);
      k.matmul(ws.zxbcdt, ws.hn, lw.inProj, lw.inProjBias);
      k.causalConv1d(ws.xbc, ws.zxbcdt, d.inner, lw.convWeight, lw.convBias, cache.conv[l], maskT, c.hidden_act);
      const ssm = steps === 1 ? k.ssmStep : k.ssdScan;
      ssm(ws.y, ws.xbc, ws.zxbcdt, { dtBias: lw.dtBias, A: lw.A, D: lw.D }, cache.ssm[l], maskT, this.ssm);
      k.gatedRmsNorm(ws.g, ws.y, ws.zxbcdt, lw.gatedNorm, eps, this.gatedNormGroup);
      k.matmul(ws.mixed, ws.g, lw.outProj, lw.outProjBias);
      k.add(ws.h, ws.h, ws.mixed);
    });
    k.rmsNorm(ws.hn, ws.h, w.normF, eps);
    cache.seqLen += steps;
    return ws;
  }

  /** lm_head over every position [B·T, V] or over the last position of each row [B, V]. */
  private head(ws: Workspace<T>, which: "all" | "last"): T {
    const k = this.backend.kernels;
    if (which === "all") {
      ws.logitsAll ??= this.backend.zeros([ws.hn.shape[0], this.dims.vocab], "f32");
      k.matmul(ws.logitsAll, ws.hn, this.weights.lmHead, null);
      return ws.logitsAll;
    }
    k.embedding(ws.hLast, ws.hn, ws.lastRows);
    k.matmul(ws.logitsLast, ws.hLast, this.weights.lmHead, null);
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
    };
    be.write(ws.lastRows, Int32Array.from({ length: batch }, (_, b) => b * steps + steps - 1));
    // Keep the decode workspace and the latest prefill one; drop older prefill shapes.
    for (const [other, old] of this.workspaces) {
      if (!other.endsWith("x1")) {
        for (const t of Object.values(old)) if (t) be.free(t);
        this.workspaces.delete(other);
      }
    }
    this.workspaces.set(key, ws);
    return ws;
  }
}
