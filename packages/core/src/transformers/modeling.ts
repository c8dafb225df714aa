/**
 * transformers' Mamba2 classes under the same names (camelCase where TypeScript expects it): `Mamba2Model`
 * (the bare model: last hidden state after norm_f), `Mamba2ForCausalLM` (logits, loss from labels, generate),
 * `fromPretrained`, a model built from a config alone with transformers' initialization, and PEFT LoRA adapters
 * (`loadAdapter`, `setAdapter`, …, or merged with `fromPretrained(…, { adapter, mergeAdapter: true })`).
 * Both run on any backend through the core model (`core()`).
 */
import type { Backend, Tensor } from "../backend.js";
import type { ByteInput } from "../bytes.js";
import type { Mamba2Cache } from "../cache.js";
import { eosIds, parseConfig, type Mamba2Config as ConfigJson } from "../config.js";
import { fail } from "../errors.js";
import type { ModelFolder } from "../folder.js";
import { openModelFolder, renamed, type OpenedModel } from "../formats.js";
import { generateAll } from "../generate.js";
import type { HostTensor } from "../host-tensor.js";
import { buildModel, openSafetensors, type ModelFiles } from "../load.js";
import { nllOf } from "../loss.js";
import { freeLora, type LoraAdapter, type LoraWeights, mergeLora, openLoraAdapter, uploadLora } from "../lora.js";
import type { Mamba2Model as CoreModel, TokenIds } from "../model.js";
import type { SamplingOptions } from "../sampling.js";
import { isModelFiles, openSource, type ModelSource, type SourceOptions } from "../source.js";
import type { TensorHeader } from "../safetensors.js";
import { expectedTensors, type TensorStore } from "../weights.js";
import { Mamba2Config, type Mamba2ConfigInit } from "./config.js";
import { initWeights } from "./init.js";

export interface InitOptions<T extends Tensor = Tensor> {
  /** Where the model runs (default: the reference backend). */
  backend?: Backend<T>;
  /** Seed of the initialization of a model built from its config (default 0). */
  seed?: number;
  /** The parameters under transformers' names, instead of the initialization (what fromPretrained passes). */
  weights?: TensorStore;
  /** mamba_ssm's per-group gated norm instead of transformers' whole-width one (default false). */
  groupedGatedNorm?: boolean;
}

/** A PEFT adapter: its folder (a URL, a Hub id, `File`s, a ModelFolder; paths with the ./node entry), or one read. */
export type AdapterSource = Exclude<ModelSource, ModelFiles> | LoraAdapter;

export interface AdapterOptions extends SourceOptions {
  /** The name to switch to it by (default "default"). */
  adapterName?: string;
}

export interface FromPretrainedOptions<T extends Tensor = Tensor> extends AdapterOptions {
  backend?: Backend<T>;
  /** Default: what the format implies (per group for mamba_ssm, Mistral and GGUF files). */
  groupedGatedNorm?: boolean;
  /** A PEFT LoRA adapter loaded with the model, active. */
  adapter?: AdapterSource;
  /** Merge the adapter into the weights (W + scaling·B·A in W's dtype) instead of applying it at run time. */
  mergeAdapter?: boolean;
}

/** Ids [B, T] or one row; labels are the same shape. */
type Rows = TokenIds;

export interface Mamba2Inputs<T extends Tensor = Tensor> {
  /** Token ids [B, T] (or one row). Exactly one of inputIds and inputsEmbeds. */
  inputIds?: TokenIds;
  /** Embeddings [B, T, D] instead of ids. */
  inputsEmbeds?: HostTensor;
  /** [B, T] of 0/1: 0 marks a (left) padding position, which is treated as absent. */
  attentionMask?: readonly (readonly number[])[];
  /** Continue from this state (and update it). */
  cacheParams?: Mamba2Cache<T>;
  /** Return the state as `cacheParams` (default: the config's use_cache); a new one is made when none is given. */
  useCache?: boolean;
  /** Return the hidden state after each block and after norm_f (num_hidden_layers + 1 tensors [B, T, D]). */
  outputHiddenStates?: boolean;
}

export interface Mamba2Output<T extends Tensor = Tensor> {
  /** [B, T, D], after norm_f. */
  readonly lastHiddenState: HostTensor;
  readonly hiddenStates?: readonly HostTensor[];
  readonly cacheParams?: Mamba2Cache<T>;
}

export interface CausalLMInputs<T extends Tensor = Tensor> extends Mamba2Inputs<T> {
  /** [B, T]: the loss is the mean cross-entropy of logits[t] against labels[t + 1]; -100 entries are ignored. */
  labels?: Rows;
  /** Logits of the last k positions only (0: all), or of the positions listed (negative counts from the end). */
  logitsToKeep?: number | readonly number[];
}

export interface CausalLMOutput<T extends Tensor = Tensor> {
  /** [B, kept positions, V]. */
  readonly logits: HostTensor;
  readonly loss?: number;
  readonly hiddenStates?: readonly HostTensor[];
  readonly cacheParams?: Mamba2Cache<T>;
}

export interface GenerationOptions extends Pick<SamplingOptions, "minP" | "repetitionPenalty" | "seed"> {
  /** [B, T] of 0/1 for left-padded rows. */
  attentionMask?: readonly (readonly number[])[];
  /** Default 20. */
  maxNewTokens?: number;
  /** Sample (temperature, top-k 50, top-p 1 unless given) instead of greedy decoding. Default false. */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Default: the config's. */
  eosTokenId?: number | readonly number[] | null;
  /** Fills the rows that ended early (default: the config's pad_token_id, else the first EOS id, else 0). */
  padTokenId?: number;
}

/** A tensor of the checkpoint `saveSafetensors` writes. */
export interface CheckpointTensor extends TensorHeader {
  bytes(): Promise<Uint8Array>;
}

const IGNORE_INDEX = -100;

/** What `fromPretrained` and `loadAdapter` need to find files; the ./node entry's classes add paths on disk. */
export interface SourceResolver {
  openFolder(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions): Promise<ModelFolder>;
}

type ModelClass<M> = (new (config: Mamba2Config, options: InitOptions<never>) => M) & SourceResolver;

interface LoadedAdapter<T extends Tensor> {
  readonly adapter: LoraAdapter;
  readonly weights: LoraWeights<T>;
}

/** What Mamba2Model and Mamba2ForCausalLM share: config, parameters, the core model, adapters, saving. */
export abstract class Mamba2PreTrainedModel<T extends Tensor = Tensor> {
  readonly config: Mamba2Config;
  /** The parameters under transformers' names (backbone.…, lm_head.weight), read lazily. */
  readonly weights: TensorStore;
  readonly groupedGatedNorm: boolean;
  private readonly backend?: Backend<T>;
  private built: Promise<CoreModel<T>> | null = null;
  private readonly adapters = new Map<string, LoadedAdapter<T>>();
  private active: string | null = null;
  private adaptersEnabled = true;

  protected constructor(
    private readonly head: boolean,
    config: Mamba2Config | Mamba2ConfigInit,
    options: InitOptions<T>,
  ) {
    this.config = config instanceof Mamba2Config ? config : new Mamba2Config(config);
    this.backend = options.backend;
    this.groupedGatedNorm = options.groupedGatedNorm ?? false;
    const store = options.weights ?? initWeights(this.config.hf, expectedTensors(this.runtimeConfig()), options.seed ?? 0);
    this.weights = head ? store : backbone(store);
  }

  /** Finds a model's or an adapter's folder: a URL, a Hub id, `File`s or a ModelFolder. */
  static async openFolder(source: Exclude<ModelSource, ModelFiles>, options: SourceOptions): Promise<ModelFolder> {
    return openSource(source, options);
  }

  /**
   * Loads a model: a URL, a Hub id ("org/name", with `revision`), `File`s, a ModelFolder or `{ config, weights }`
   * (paths on disk with the ./node entry), of any supported format; with `adapter`, a PEFT LoRA adapter too.
   */
  static async fromPretrained<M extends Mamba2PreTrainedModel<Tensor>>(this: ModelClass<M>, source: ModelSource, options: FromPretrainedOptions = {}): Promise<M> {
    const opened: Pick<OpenedModel, "config" | "store" | "groupedGatedNorm"> = isModelFiles(source)
      ? { config: parseConfig(source.config), store: await openSafetensors(Array.isArray(source.weights) ? source.weights : [source.weights as ByteInput]), groupedGatedNorm: false }
      : await openModelFolder(await this.openFolder(source, options));
    let { config, store } = opened;
    const adapter = options.adapter ? await readAdapter(this, options.adapter, options) : null;
    if (adapter && options.mergeAdapter) ({ config, store } = mergeLora(config, store, adapter));
    const model = new this(Mamba2Config.fromDict(config), {
      backend: options.backend as Backend<never> | undefined,
      weights: store,
      groupedGatedNorm: options.groupedGatedNorm ?? opened.groupedGatedNorm,
    });
    if (adapter && !options.mergeAdapter) await model.loadAdapter(adapter, options);
    return model;
  }

  /** The core model (sessions, streaming generation, state bytes), built on first use. */
  core(): Promise<CoreModel<T>> {
    this.built ??= buildModel(this.runtimeConfig(), this.weights, { backend: this.backend, groupedGatedNorm: this.groupedGatedNorm }).catch((e: unknown) => {
      this.built = null;
      throw e;
    });
    return this.built;
  }

  /** An empty state for `batchSize` sequences (transformers' `Mamba2Cache(config, batch_size)`). */
  async createCache(batchSize = 1): Promise<Mamba2Cache<T>> {
    return (await this.core()).createCache(batchSize);
  }

  /** The input embedding as a function: `getInputEmbeddings()(inputIds)` → [B, T, D] (with an active adapter's). */
  getInputEmbeddings(): (inputIds: TokenIds) => Promise<HostTensor> {
    return async (inputIds) => {
      const core = await this.core();
      const rows = core.checkIds(inputIds);
      return { data: await core.embed(rows), dims: [rows.length, rows[0].length, core.dims.hidden] };
    };
  }

  /**
   * Loads a PEFT LoRA adapter under `adapterName` (default "default"), applied at run time; the first one
   * loaded becomes active. Several can be loaded and switched with setAdapter without reloading the model.
   */
  async loadAdapter(source: AdapterSource, options: AdapterOptions = {}): Promise<void> {
    const name = options.adapterName ?? "default";
    if (this.adapters.has(name)) fail(`an adapter named "${name}" is already loaded (deleteAdapter it first, or pick another adapterName)`);
    const adapter = await readAdapter(this.constructor as unknown as SourceResolver, source, options);
    const core = await this.core();
    this.adapters.set(name, { adapter, weights: uploadLora(core.backend, adapter, core.config) });
    this.active ??= name;
    this.apply(core);
  }

  /** Makes a loaded adapter the active one. */
  async setAdapter(name: string): Promise<void> {
    this.loaded(name);
    this.active = name;
    this.apply(await this.core());
  }

  /** Runs the base model alone until enableAdapters. */
  async disableAdapters(): Promise<void> {
    this.adaptersEnabled = false;
    this.apply(await this.core());
  }

  async enableAdapters(): Promise<void> {
    this.adaptersEnabled = true;
    this.apply(await this.core());
  }

  /** The adapter in use ([] when none is loaded or adapters are disabled). */
  activeAdapters(): string[] {
    return this.adaptersEnabled && this.active !== null ? [this.active] : [];
  }

  /** Unloads an adapter (frees its tensors); deleting the active one leaves none active. */
  async deleteAdapter(name: string): Promise<void> {
    const { weights } = this.loaded(name);
    const core = await this.core();
    this.adapters.delete(name);
    if (this.active === name) this.active = null;
    this.apply(core);
    freeLora(core.backend, weights);
  }

  /**
   * The files of the checkpoint as transformers writes them: config.json (with `architectures`) and the
   * tensors of model.safetensors (Mamba2Model's without the `backbone.` prefix; a tied head not written).
   */
  checkpoint(): { configJson: string; tensors: CheckpointTensor[] } {
    const c = this.config;
    if (this.groupedGatedNorm && c.nGroups > 1) {
      fail(`this model normalizes its gated RMSNorm per group (mamba_ssm's, n_groups ${c.nGroups}), which transformers' files cannot express: saving it would change its outputs`);
    }
    const tensors = [...this.weights.tensors]
      .filter(([name]) => !(c.tieWordEmbeddings && name === "lm_head.weight"))
      .map(([name, e]): CheckpointTensor => ({
        name: this.head ? name : name.replace(/^backbone\./, ""),
        dtype: e.dtype,
        shape: e.shape,
        byteLength: e.end - e.begin,
        bytes: () => this.weights.bytes(name),
      }));
    const configJson = Mamba2Config.fromDict({ ...c.toDict(), architectures: [this.head ? "Mamba2ForCausalLM" : "Mamba2Model"] }).toJsonString();
    return { configJson, tensors };
  }

  /** The core model's config: the bare model has no head, and is built as tied so that it needs none. */
  private runtimeConfig(): ConfigJson {
    return this.head || this.config.tieWordEmbeddings ? this.config.hf : parseConfig({ ...this.config.hf, tie_word_embeddings: true });
  }

  private loaded(name: string): LoadedAdapter<T> {
    return this.adapters.get(name) ?? fail(`no adapter named "${name}" (loaded: ${[...this.adapters.keys()].join(", ") || "none"})`);
  }

  private apply(core: CoreModel<T>): void {
    core.lora = this.adaptersEnabled && this.active !== null ? this.adapters.get(this.active)!.weights : null;
  }

  /** One forward through the core model, with transformers' input checks and outputs. */
  protected async run(inputs: Mamba2Inputs<T>, logits: "all" | "last" | "none") {
    const core = await this.core();
    const { inputIds, inputsEmbeds } = inputs;
    if ((inputIds === undefined) === (inputsEmbeds === undefined)) fail("specify exactly one of inputIds or inputsEmbeds");
    const input = inputIds ?? inputsEmbeds!;
    const rows = inputIds ? core.checkIds(inputIds) : null;
    const batch = rows ? rows.length : inputsEmbeds!.dims[0];
    const useCache = inputs.useCache ?? this.config.useCache;
    const cache = inputs.cacheParams ?? (useCache ? core.createCache(batch) : undefined);
    const r = await core.forward(rows ?? input, { cache, attentionMask: inputs.attentionMask, logits, hidden: true, layerOutputs: inputs.outputHiddenStates });
    const dims = [r.batch, r.steps, core.dims.hidden];
    const last: HostTensor = { data: r.hidden!, dims };
    return {
      result: r,
      vocab: core.dims.vocab,
      lastHiddenState: last,
      hiddenStates: r.layerOutputs ? [...r.layerOutputs.map((data) => ({ data, dims })), last] : undefined,
      cacheParams: useCache ? cache : undefined,
    };
  }
}

/** transformers' `Mamba2Model`: the backbone, returning the last hidden state (after norm_f). */
export class Mamba2Model<T extends Tensor = Tensor> extends Mamba2PreTrainedModel<T> {
  /** From a config alone: transformers' initialization (seeded); or from `weights`. */
  constructor(config: Mamba2Config | Mamba2ConfigInit = new Mamba2Config(), options: InitOptions<T> = {}) {
    super(false, config, options);
  }

  async forward(inputs: Mamba2Inputs<T>): Promise<Mamba2Output<T>> {
    const { lastHiddenState, hiddenStates, cacheParams } = await this.run(inputs, "none");
    return { lastHiddenState, hiddenStates, cacheParams };
  }
}

/** transformers' `Mamba2ForCausalLM`: the backbone and lm_head; logits, loss from labels, generate. */
export class Mamba2ForCausalLM<T extends Tensor = Tensor> extends Mamba2PreTrainedModel<T> {
  /** From a config alone: transformers' initialization (seeded); or from `weights`. */
  constructor(config: Mamba2Config | Mamba2ConfigInit = new Mamba2Config(), options: InitOptions<T> = {}) {
    super(true, config, options);
  }

  async forward(inputs: CausalLMInputs<T>): Promise<CausalLMOutput<T>> {
    const keep = inputs.logitsToKeep ?? 0;
    if (typeof keep === "number" ? !Number.isInteger(keep) || keep < 0 : !keep.every(Number.isInteger)) {
      fail(`logitsToKeep must be an integer >= 0 or a list of positions, found ${JSON.stringify(keep)}`);
    }
    if (inputs.labels && keep !== 0) fail("labels need the logits of every position: leave logitsToKeep at 0");
    const r = await this.run(inputs, keep === 1 ? "last" : "all");
    const { batch, steps } = r.result;
    const V = r.vocab;
    const all = r.result.logits!;
    let logits: HostTensor;
    if (keep === 1) logits = { data: all, dims: [batch, 1, V] };
    else if (keep === 0 || (typeof keep === "number" && keep >= steps)) logits = { data: all, dims: [batch, steps, V] };
    else {
      const positions = typeof keep === "number" ? Array.from({ length: keep }, (_, i) => steps - keep + i) : keep.map((p) => (p < 0 ? steps + p : p));
      for (const p of positions) if (p < 0 || p >= steps) fail(`logitsToKeep position ${p} is out of range for ${steps} positions`);
      const data = new Float32Array(batch * positions.length * V);
      for (let b = 0; b < batch; b++) positions.forEach((p, i) => data.set(all.subarray((b * steps + p) * V, (b * steps + p + 1) * V), (b * positions.length + i) * V));
      logits = { data, dims: [batch, positions.length, V] };
    }
    const loss = inputs.labels ? causalLmLoss(all, inputs.labels, batch, steps, V) : undefined;
    return { logits, loss, hiddenStates: r.hiddenStates, cacheParams: r.cacheParams };
  }

  /**
   * transformers' `generate`: the input rows followed by their new tokens (rows that ended early are filled
   * with the pad id). Greedy unless doSample; left-padded rows with attentionMask are each generated as if alone.
   */
  async generate(inputIds: TokenIds, options: GenerationOptions = {}): Promise<number[][]> {
    const core = await this.core();
    const rows = core.checkIds(inputIds);
    const mask = options.attentionMask;
    if (mask && (mask.length !== rows.length || mask.some((m) => m.length !== rows[0].length))) {
      fail(`attentionMask shape [${mask.length}, ${mask[0]?.length}] does not match the input ids [${rows.length}, ${rows[0].length}]`);
    }
    const prompts = rows.map((row, b) => {
      if (!mask) return row;
      const start = mask[b].indexOf(1);
      if (start < 0 || mask[b].some((v, t) => v !== (t < start ? 0 : 1))) fail(`attentionMask row ${b} must be zeros (left padding) then ones, found [${mask[b].join(", ")}]`);
      return row.slice(start);
    });
    const sampling: SamplingOptions = options.doSample
      ? { temperature: options.temperature ?? 1, topK: options.topK ?? 50, topP: options.topP ?? 1, minP: options.minP, seed: options.seed }
      : { temperature: 0 };
    const tokens = await generateAll(core, prompts, {
      ...sampling,
      repetitionPenalty: options.repetitionPenalty,
      maxNewTokens: options.maxNewTokens ?? 20,
      eosTokenId: options.eosTokenId === undefined ? eosIds(this.config.hf) : options.eosTokenId,
    });
    const pad = options.padTokenId ?? this.config.padTokenId ?? eosIds(this.config.hf)[0] ?? 0;
    const width = Math.max(...tokens.map((t) => t.length));
    return rows.map((row, b) => [...row, ...tokens[b], ...new Array<number>(width - tokens[b].length).fill(pad)]);
  }
}

/**
 * transformers' causal LM loss: mean over (b, t) with labels[b][t + 1] ≠ -100 of −log softmax(logits[b, t])
 * [labels[b][t + 1]] (NaN when every label is ignored, as torch gives). logits [B, T, V].
 */
export function causalLmLoss(logits: Float32Array, labels: Rows, batch: number, steps: number, vocab: number): number {
  const rows = (labels.length > 0 && typeof labels[0] === "number" ? [labels] : labels) as readonly (readonly number[])[];
  if (rows.length !== batch || rows.some((r) => r.length !== steps)) {
    fail(`labels shape [${rows.length}, ${rows[0]?.length}] does not match the input [${batch}, ${steps}]`);
  }
  let sum = 0;
  let count = 0;
  rows.forEach((row, b) => {
    row.forEach((label, t) => {
      if (label !== IGNORE_INDEX && (!Number.isInteger(label) || label < 0 || label >= vocab)) fail(`label ${label} in row ${b} is out of range [0, ${vocab}) (or -100 to ignore)`);
      if (t === 0 || label === IGNORE_INDEX) return;
      const at = (b * steps + t - 1) * vocab;
      sum += nllOf(logits.subarray(at, at + vocab), label);
      count++;
    });
  });
  return sum / count;
}

/** A Mamba2Model's store: names with the `backbone.` prefix whether or not the file had it; no lm_head. */
function backbone(store: TensorStore): TensorStore {
  const bare = store.tensors.has("embeddings.weight");
  return renamed(store, (n) => (n === "lm_head.weight" ? null : bare ? `backbone.${n}` : n));
}

async function readAdapter(resolver: SourceResolver, source: AdapterSource, options: SourceOptions): Promise<LoraAdapter> {
  if (isLoraAdapter(source)) return source;
  return openLoraAdapter(await resolver.openFolder(source, options));
}

const isLoraAdapter = (x: unknown): x is LoraAdapter => typeof x === "object" && x !== null && (x as LoraAdapter).modules instanceof Map;
