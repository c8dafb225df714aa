import { type ConvStep, fail } from "@mamba2/core";
import type { GpuFeatures } from "../device.js";
import activationSource from "../shaders/activation.wgsl";
import convStep from "../shaders/conv-step.wgsl";
import subgroupSource from "../shaders/gemv-subgroup.wgsl";
import source from "../shaders/matmul.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params, reductions, type StoredDType, weightAccess } from "../wgsl.js";
import { ACT, causalConv1d } from "./causal-conv1d.js";
import { type Context, groupsOf, header, storedDType } from "./context.js";
import { gatedRmsNorm } from "./gated-rms-norm.js";
import { rmsNorm } from "./rms-norm.js";

/** Rows up to which the weight-streaming gemv beats the tiled gemm (decode and small batches). */
const GEMV_MAX_ROWS = 8;
/**
 * Rows of x a gemm workgroup computes (matmul.wgsl's TM; 64 outputs a workgroup): 128 for matrices of 2048 outputs
 * and more, 64 below. On an H200, inside 2048-token prefills, 128 made 2.7b's products (f16) 10–20 % faster and
 * 130m's in_proj (f32) 5 % faster, and 130m's out_proj (768 outputs) 5 % slower.
 */
const gemmRows = (outDim: number) => (outDim >= 2048 ? 128 : 64);

/**
 * The gemm's split of k (KS slices, matmul.wgsl): a product of few tiles and long rows (out_proj of larger models
 * in prefill: 640 tiles of 5120 k for 2.7b at 2048 tokens) leaves a large GPU's last wave of workgroups mostly
 * empty. Slices multiply the workgroups, up to 4 while there are fewer than 2048 and each slice keeps 1024 k or
 * more (then the partial sums, written and read once, cost little beside the product), and the partial sums fit
 * one binding. On an H200, 2.7b's out_proj at 2048 tokens (f16) took 1.70 ms whole and 1.55 ms in 2 or 4 slices;
 * 130m's products, which this rule keeps whole, were up to 22 % slower split.
 */
function gemmSlices(ctx: Context, rows: number, outDim: number, inDim: number): number {
  const tiles = groupsOf(rows, gemmRows(outDim)) * groupsOf(outDim, 64);
  let ks = 1;
  while (ks < 4 && tiles * ks < 2048 && inDim >= 2048 * ks && 2 * ks * rows * outDim * 4 <= ctx.bindingBytes) ks *= 2;
  return ks;
}

/**
 * How a gemv is split (vec: 4 where rows are read as vec4s, else 1; loads: the loads of a weight row). With
 * subgroups, for matrices of many rows (at least 2048) of up to 4096 elements, by subgroups (gemv-subgroup.wgsl):
 * RS outputs a subgroup, 2 for the widest matrices (in_proj of larger models, lm_heads), loads of 8 values (WL = 2
 * vec4s) for 16-bit weights in rows of a multiple of 8, U loads of a row in flight per step while a row has loads
 * for them, and as many subgroups a workgroup as the adapter's smallest subgroups make. Otherwise by workgroups:
 * RW outputs a workgroup, 4 (more workgroups stream a matrix faster), up to 16 while a row has fewer than
 * 1024 / RW loads, so that short rows do not leave most invocations idle (a CPU driver such as SwiftShader runs
 * them too).
 * On an H200, inside 130m's decode step (f32) the subgroup gemv took 17 % less time for in_proj and 33 % less for
 * the lm_head than the workgroup one; alone, it streamed 2.7b's in_proj (f16) 20 % faster, and 12 % faster still
 * with 8-value loads. The workgroup gemv is ahead on out_proj (few outputs, long rows).
 */
interface Split {
  readonly entry: "gemv" | "gemv_subgroup" | "gemm";
  readonly consts: Record<string, number>;
  /** Outputs a workgroup (gemv). */
  readonly perGroup: number;
}

function gemvSplit(f: GpuFeatures, rows: number, outDim: number, inDim: number, vec: number, dtype: StoredDType): Split {
  if (f.subgroups && outDim >= 2048 && inDim <= 4096) {
    const rs = rows === 1 && outDim >= 8192 ? 2 : 1;
    const wl = (dtype === "f16" || dtype === "bf16") && inDim % 8 === 0 ? 2 : 1;
    const loads = inDim / (vec * wl);
    const u = loads >= 512 ? 4 : loads >= 256 ? 2 : 1;
    return { entry: "gemv_subgroup", consts: { RS: rs, U: u, WL: wl, SG_MIN: f.subgroupMinSize }, perGroup: (256 / f.subgroupMinSize) * rs };
  }
  const loads = inDim / vec;
  let rw = 4;
  while (rw < 16 && rw * loads < 1024) rw *= 2;
  return { entry: "gemv", consts: { RW: rw }, perGroup: rw };
}

/** The subgroup gemv's weight load j of a row: WL vec4s. */
function wLoad(wl: number): string {
  const load = wl === 2 ? "w_row8(row, j, p.in_dim)" : "array(w_row4(row, j, p.in_dim))";
  return `fn w_load(row: u32, j: u32) -> array<vec4<f32>, WL> { return ${load}; }`;
}

/** A norm folded into the gemv's loads of x: RMSNorm, or the gated RMSNorm over the whole width (x = y ⊙ silu(z)). */
type Prologue = { readonly weight: GpuTensor; readonly eps: number; readonly z?: GpuTensor };

interface Fusion {
  readonly prologue?: Prologue;
  /** Add the product to out (the residual). */
  readonly accumulate?: boolean;
  /** The conv step on the outputs (gemv only): see conv-step.wgsl. */
  readonly conv?: ConvStep<GpuTensor> & { readonly xbc: GpuTensor };
}

/** How the gemv reads x: as is, or as a norm's input with the norm's weight as its gain. */
function xAccess(pro: Prologue | undefined, vec4: boolean): string {
  const plain = weightAccess("x", 2, "f32", vec4);
  if (!pro) return `${plain}\nfn x_gain4(j: u32) -> vec4<f32> { return vec4<f32>(1.0); }`;
  const gain = `${weightAccess("nw", 5, "f32", vec4)}\nfn x_gain4(j: u32) -> vec4<f32> { return nw_row4(0u, j, p.in_dim); }`;
  if (!pro.z) return `${plain}\n${gain}`;
  // x = y ⊙ silu(z), z the first columns of rows of z_stride values (read one at a time: any alignment)
  const zRow = vec4
    ? "let k = r * p.z_stride + 4u * j; let z = vec4<f32>(zs[k], zs[k + 1u], zs[k + 2u], zs[k + 3u]);"
    : "let z = vec4<f32>(zs[r * p.z_stride + j], 0.0, 0.0, 0.0);";
  return `${weightAccess("y", 2, "f32", vec4)}
@group(0) @binding(6) var<storage, read> zs: array<f32>;
fn x_row4(r: u32, j: u32, len: u32) -> vec4<f32> { ${zRow} return y_row4(r, j, len) * z / (1.0 + exp(-z)); }
fn x_at(i: u32) -> f32 { let z = zs[(i / p.in_dim) * p.z_stride + i % p.in_dim]; return y_at(i) * z / (1.0 + exp(-z)); }
${gain}`;
}

/**
 * out (+)= x·wᵀ + bias, one dispatch per part of w: gemv for few rows, the tiled gemm otherwise (and its sum of
 * slices: gemmSlices; a prologue only with the gemv: see rmsNormMatmul and gatedNormMatmulAdd).
 */
export function matmul(ctx: Context, out: GpuTensor, x: GpuTensor, w: GpuTensor, bias: GpuTensor | null, fusion: Fusion = {}): void {
  const [outDim, inDim] = w.shape;
  const rows = x.bytes / 4 / inDim;
  const dtype = storedDType(w);
  const vec = inDim % 4 === 0 ? 4 : 1;
  const gemv = rows <= GEMV_MAX_ROWS;
  const pro = fusion.prologue;
  const rx = gemv ? rows : 1;
  const split: Split = gemv
    ? gemvSplit(ctx.features, rows, outDim, inDim, vec, dtype)
    : { entry: "gemm", consts: { TM: gemmRows(outDim), KS: gemmSlices(ctx, rows, outDim, inDim) }, perGroup: 0 };
  const norm = pro ? (pro.z ? "gated" : "norm") : "plain";
  const acc = fusion.accumulate ? 1 : 0;
  const conv = fusion.conv;
  const k = conv?.weight.shape[1] ?? 0;
  const act = conv ? ACT[conv.activation] : 0;
  const convDType = conv ? storedDType(conv.weight) : "-";
  const key = `matmul/${dtype}/${vec}/${rx}/${split.entry}/${Object.values(split.consts).join("/")}/${norm}/${acc}/${ctx.features.subgroups}/${convDType}/${k}/${act}`;
  const code = () => compose(
    // RW, TM and KS: the workgroup gemv's and the gemm's, compiled in every module
    header({ VEC: vec, RX: rx, RW: 4, TM: 64, KS: 1, ...split.consts, NORM: pro ? 1 : 0, ACC: acc, K: k, ACT: act }),
    reductions(ctx.features),
    xAccess(pro, vec === 4),
    weightAccess("w", 3, dtype, vec === 4, split.consts.WL === 2),
    split.entry === "gemv_subgroup" ? wLoad(split.consts.WL) : "",
    conv ? `${weightAccess("cw", 9, storedDType(conv.weight), false)}\n${activationSource}\n${convStep}` : "fn conv_push(r: u32, o: u32, v: f32) {}",
    source,
    split.entry === "gemv_subgroup" ? subgroupSource : "",
  );
  const zStride = pro?.z ? pro.z.shape[pro.z.shape.length - 1] : 0;
  const channels = conv?.xbc.shape[conv.xbc.shape.length - 1] ?? 0;
  const convBindings = conv ? [conv.state, conv.xbc, conv.weight, conv.bias ?? ctx.dummy, conv.mask ?? ctx.dummy].map((t) => t.parts[0]) : [];
  const ks = split.consts.KS ?? 1;
  for (const part of w.parts) {
    const params = new Params()
      .u32(rows, outDim, inDim, part.row0, part.rows, bias ? 1 : 0, zStride).f32(pro?.eps ?? 0)
      .u32(conv?.offset ?? 0, channels, conv?.bias ? 1 : 0, conv?.mask ? 1 : 0).bytes();
    const biasPart = (bias ?? ctx.dummy).parts[0];
    // bindings 7–11: the conv step's (gemv); 12: the gemm's partial sums (bound even when KS = 1, as the gemm
    // names it; not ctx.dummy, which may be bound read-only beside it)
    const tail = split.entry === "gemm" ? [null, null, null, null, null, ctx.scratch("gemm-slices", ks > 1 ? ks * rows * part.rows * 4 : 4)] : convBindings;
    ctx.runner.dispatch({
      key,
      entry: split.entry,
      source: code,
      params,
      bindings: [out.parts[0], x.parts[0], part, biasPart, pro?.weight.parts[0] ?? null, pro?.z?.parts[0] ?? null, ...tail],
      workgroups: gemv ? groupsOf(part.rows, split.perGroup) : groupsOf(rows, split.consts.TM) * groupsOf(part.rows, 64) * ks,
    });
    if (ks > 1) ctx.runner.dispatch({ key, entry: "gemm_sum", source: code, params, bindings: [out.parts[0], null, null, biasPart, null, null, ...tail], workgroups: groupsOf(rows * part.rows) });
  }
}

/** A scratch tensor of the size of `like`, as rows of `cols` values. */
function scratchLike(ctx: Context, name: string, like: GpuTensor, cols: number): GpuTensor {
  return { shape: [like.bytes / 4 / cols, cols], dtype: "f32", bytes: like.bytes, parts: [ctx.scratch(name, like.bytes)] };
}

/** out = rmsNorm(x)·wᵀ + bias: one gemv for few rows; otherwise the norm into scratch, then the gemm. */
export function rmsNormMatmul(ctx: Context, out: GpuTensor, x: GpuTensor, weight: GpuTensor, eps: number, w: GpuTensor, bias: GpuTensor | null): void {
  if (x.bytes / 4 / w.shape[1] <= GEMV_MAX_ROWS) return matmul(ctx, out, x, w, bias, { prologue: { weight, eps } });
  const normed = scratchLike(ctx, "rms-norm-matmul", x, w.shape[1]);
  rmsNorm(ctx, normed, x, weight, eps);
  matmul(ctx, out, normed, w, bias);
}

/**
 * out = rmsNorm(x)·wᵀ + bias, then the conv step over its columns into xbc: one gemv for few rows; otherwise
 * rmsNormMatmul, then the conv.
 */
export function rmsNormMatmulConv(
  ctx: Context, out: GpuTensor, xbc: GpuTensor, x: GpuTensor, weight: GpuTensor, eps: number, w: GpuTensor, bias: GpuTensor | null, conv: ConvStep<GpuTensor>,
): void {
  if (conv.weight.parts.length > 1) fail(`the conv weight [${conv.weight.shape.join(", ")}] is split across buffers (weightPartBytes is below its size)`);
  if (x.bytes / 4 / w.shape[1] <= GEMV_MAX_ROWS) return matmul(ctx, out, x, w, bias, { prologue: { weight, eps }, conv: { ...conv, xbc } });
  rmsNormMatmul(ctx, out, x, weight, eps, w, bias);
  causalConv1d(ctx, xbc, out, conv.offset, conv.weight, conv.bias, conv.state, conv.mask, conv.activation);
}

/**
 * out += gatedRmsNorm(y, z)·wᵀ + bias: one gemv for few rows and the whole-width norm; otherwise the norm into
 * scratch, then the product added to out.
 */
export function gatedNormMatmulAdd(
  ctx: Context, out: GpuTensor, y: GpuTensor, z: GpuTensor, weight: GpuTensor, eps: number, groupSize: number, w: GpuTensor, bias: GpuTensor | null,
): void {
  const e = w.shape[1];
  if (y.bytes / 4 / e <= GEMV_MAX_ROWS && groupSize === e) return matmul(ctx, out, y, w, bias, { prologue: { weight, eps, z }, accumulate: true });
  const g = scratchLike(ctx, "gated-norm-matmul", y, e);
  gatedRmsNorm(ctx, g, y, z, weight, eps, groupSize);
  matmul(ctx, out, g, w, bias, { accumulate: true });
}
