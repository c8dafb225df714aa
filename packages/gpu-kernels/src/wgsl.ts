/**
 * WGSL pieces shared by the programs, chosen in TypeScript (no preprocessor): how a weight of each dtype is
 * read, how a workgroup reduces (subgroup operations where granted, workgroup memory otherwise), and how a
 * workgroup finds its linear index in a grid wider than the 65535 workgroups of one dimension.
 */
import type { WeightDType } from "@mamba2/core";
import type { GpuFeatures } from "./device.js";

export type StoredDType = WeightDType;

/** A module from its pieces, `enable` directives first. */
export function compose(...pieces: string[]): string {
  const lines = pieces.join("\n").split("\n");
  const enables = lines.filter((l) => l.startsWith("enable "));
  return [...new Set(enables), ...lines.filter((l) => !l.startsWith("enable "))].join("\n");
}

/** The linear index of a workgroup in a grid of (x, y) workgroups (see Runner.grid). */
export const GRID = `fn grid_index(wg: vec3u, nwg: vec3u) -> u32 { return wg.x + wg.y * nwg.x; }`;

/**
 * Read access to a tensor bound at `binding` as `name`: `${name}_at(i)` → f32 element i (any index), and
 * `${name}_row4(row, j, len)` → the j-th load of a row of `len` elements: elements 4j..4j+3 with `vec4` (needs
 * len % 4 == 0), element j (in .x) without. f16 and bf16 stay 16-bit in memory, two per u32 word, widened in
 * registers (f16 through unpack2x16float: no shader-f16 needed). Quantized matrices (q8_0, q4_0, q4_k: core's
 * quant.ts) stay as llama.cpp's blocks, read as bytes of a u32 array and decoded four values at a time.
 * With `wide` (f16 and bf16, len % 8 == 0) the words are bound as vec4<u32>, and `${name}_row8(row, j, len)` →
 * elements 8j..8j+7 as two vec4s from one 16-byte load.
 */
export function weightAccess(name: string, binding: number, dtype: StoredDType, vec4: boolean, wide = false): string {
  if (dtype === "q8_0" || dtype === "q4_0" || dtype === "q4_k") return quantAccess(name, binding, dtype);
  const row8 = wide ? `fn ${name}_row8(row: u32, j: u32, len: u32) -> array<vec4<f32>, 2> { return ${name}_vec8(row * (len / 8u) + j); }` : "";
  const row4 = vec4
    ? `fn ${name}_row4(row: u32, j: u32, len: u32) -> vec4<f32> { return ${name}_vec4(row * (len / 4u) + j); }`
    : `fn ${name}_row4(row: u32, j: u32, len: u32) -> vec4<f32> { return vec4<f32>(${name}_at(row * len + j), 0.0, 0.0, 0.0); }`;
  return `${accessors(name, binding, dtype, vec4, wide)}\n${row4}\n${row8}`;
}

function accessors(name: string, binding: number, dtype: StoredDType, vec4: boolean, wide: boolean): string {
  const decl = (type: string) => `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${type}>;`;
  if (dtype === "f32") {
    return vec4
      ? `${decl("vec4<f32>")}
fn ${name}_vec4(j: u32) -> vec4<f32> { return ${name}[j]; }
fn ${name}_at(i: u32) -> f32 { return ${name}[i >> 2u][i & 3u]; }`
      : `${decl("f32")}
fn ${name}_at(i: u32) -> f32 { return ${name}[i]; }`;
  }
  const pair = dtype === "f16"
    ? `fn ${name}_pair(w: u32) -> vec2<f32> { return unpack2x16float(w); }`
    : `fn ${name}_pair(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }`;
  if (wide) {
    // 8 values a vec4<u32>: vec4 j is half of word quad j / 2
    return `${decl("vec4<u32>")}
${pair}
fn ${name}_unpack4(q: vec2<u32>) -> vec4<f32> { return vec4<f32>(${name}_pair(q.x), ${name}_pair(q.y)); }
fn ${name}_vec8(j: u32) -> array<vec4<f32>, 2> { let q = ${name}[j]; return array(${name}_unpack4(q.xy), ${name}_unpack4(q.zw)); }
fn ${name}_vec4(j: u32) -> vec4<f32> { let q = ${name}[j >> 1u]; return ${name}_unpack4(select(q.xy, q.zw, (j & 1u) != 0u)); }
fn ${name}_at(i: u32) -> f32 { return ${name}_pair(${name}[i >> 3u][(i >> 1u) & 3u])[i & 1u]; }`;
  }
  return vec4
    ? `${decl("vec2<u32>")}
${pair}
fn ${name}_vec4(j: u32) -> vec4<f32> { let q = ${name}[j]; return vec4<f32>(${name}_pair(q.x), ${name}_pair(q.y)); }
fn ${name}_at(i: u32) -> f32 { let q = ${name}[i >> 2u]; return ${name}_pair(select(q.x, q.y, (i & 2u) != 0u))[i & 1u]; }`
    : `${decl("u32")}
${pair}
fn ${name}_at(i: u32) -> f32 { return ${name}_pair(${name}[i >> 1u])[i & 1u]; }`;
}

/** Bytes, halves and unaligned words of a block array; `${name}_quad(i)` decodes values i..i+3 (i % 4 == 0). */
function quantAccess(name: string, binding: number, dtype: "q8_0" | "q4_0" | "q4_k"): string {
  const quad = {
    // 34-byte blocks: f16 d, 32 × i8
    q8_0: `let base = (i / 32u) * 34u;
  let w = ${name}_word(base + 2u + i % 32u);
  let q = vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4<u32>(24u);
  return ${name}_half(base) * vec4<f32>(q);`,
    // 18-byte blocks: f16 d, byte j = value j (low nibble) | value j + 16 (high nibble)
    q4_0: `let base = (i / 32u) * 18u;
  let k = i % 32u;
  let n = (${name}_word(base + 2u + k % 16u) >> select(0u, 4u, k >= 16u)) & 0x0f0f0f0fu;
  let q = vec4<f32>(vec4<u32>(n, n >> 8u, n >> 16u, n >> 24u) & vec4<u32>(0xfu)) - 8.0;
  return ${name}_half(base) * q;`,
    // 144-byte blocks: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) pairs, 128 bytes of nibbles
    q4_k: `let base = (i / 256u) * 144u;
  let k = i % 256u;
  let c = k / 64u;
  let high = (k % 64u) >= 32u;
  let s = 2u * c + select(0u, 1u, high);
  let at = base + 4u;
  var sc: u32;
  var mn: u32;
  if (s < 4u) {
    sc = ${name}_byte(at + s) & 63u;
    mn = ${name}_byte(at + s + 4u) & 63u;
  } else {
    sc = (${name}_byte(at + s + 4u) & 0xfu) | ((${name}_byte(at + s - 4u) >> 6u) << 4u);
    mn = (${name}_byte(at + s + 4u) >> 4u) | ((${name}_byte(at + s) >> 6u) << 4u);
  }
  let n = (${name}_word(base + 16u + 32u * c + k % 32u) >> select(0u, 4u, high)) & 0x0f0f0f0fu;
  let q = vec4<f32>(vec4<u32>(n, n >> 8u, n >> 16u, n >> 24u) & vec4<u32>(0xfu));
  return ${name}_half(base) * f32(sc) * q - ${name}_half(base + 2u) * f32(mn);`,
  }[dtype];
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<u32>;
fn ${name}_byte(b: u32) -> u32 { return (${name}[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu; }
fn ${name}_half(b: u32) -> f32 { return unpack2x16float(${name}[b >> 2u] >> ((b & 2u) * 8u)).x; }
fn ${name}_word(b: u32) -> u32 {
  let lo = ${name}[b >> 2u];
  let sh = (b & 3u) * 8u;
  if (sh == 0u) { return lo; }
  return (lo >> sh) | (${name}[(b >> 2u) + 1u] << (32u - sh));
}
fn ${name}_quad(i: u32) -> vec4<f32> {
  ${quad}
}
fn ${name}_at(i: u32) -> f32 { return ${name}_quad(i & ~3u)[i & 3u]; }
fn ${name}_row4(row: u32, j: u32, len: u32) -> vec4<f32> { return ${name}_quad(row * len + 4u * j); }`;
}

/**
 * `struct Lane` (entry-point builtins) and workgroup reductions over WORKGROUP = 256 invocations:
 * `wg_sum(v, lane)`, `wg_sum4(v: vec4<f32>, lane)` and `wg_argmax(v, i, lane)` (the largest v, the smallest i
 * among equals). Every invocation must call them (uniform control flow).
 */
export function reductions(f: GpuFeatures): string {
  if (!f.subgroups) {
    return `struct Lane { @builtin(local_invocation_index) id: u32 }
var<workgroup> red_v: array<f32, 256>;
var<workgroup> red_i: array<u32, 256>;
var<workgroup> red_4: array<vec4<f32>, 256>;
fn wg_sum4(v: vec4<f32>, lane: Lane) -> vec4<f32> {
  red_4[lane.id] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lane.id < s) { red_4[lane.id] += red_4[lane.id + s]; }
    workgroupBarrier();
  }
  let r = red_4[0];
  workgroupBarrier();
  return r;
}
fn wg_sum(v: f32, lane: Lane) -> f32 { return wg_sum4(vec4<f32>(v, 0.0, 0.0, 0.0), lane).x; }
fn wg_argmax(v: f32, i: u32, lane: Lane) -> u32 {
  red_v[lane.id] = v;
  red_i[lane.id] = i;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lane.id < s) {
      let ov = red_v[lane.id + s];
      let oi = red_i[lane.id + s];
      if (ov > red_v[lane.id] || (ov == red_v[lane.id] && oi < red_i[lane.id])) { red_v[lane.id] = ov; red_i[lane.id] = oi; }
    }
    workgroupBarrier();
  }
  let r = red_i[0];
  workgroupBarrier();
  return r;
}`;
  }
  return `enable subgroups;
struct Lane {
  @builtin(local_invocation_index) id: u32,
  @builtin(subgroup_invocation_id) sg_id: u32,
  @builtin(subgroup_size) sg_size: u32,
}
var<workgroup> red_v: array<f32, 256>;
var<workgroup> red_i: array<u32, 256>;
var<workgroup> red_4: array<vec4<f32>, 256>;
fn wg_sum4(v: vec4<f32>, lane: Lane) -> vec4<f32> {
  let s = subgroupAdd(v);
  if (lane.sg_id == 0u) { red_4[lane.id / lane.sg_size] = s; }
  workgroupBarrier();
  // one invocation adds the subgroups' sums (not every invocation: small subgroups leave up to 64 of them)
  if (lane.id == 0u) {
    var t = vec4<f32>(0.0);
    for (var k = 0u; k < 256u / lane.sg_size; k++) { t += red_4[k]; }
    red_4[255] = t;
  }
  workgroupBarrier();
  let total = red_4[255];
  workgroupBarrier();
  return total;
}
fn wg_sum(v: f32, lane: Lane) -> f32 { return wg_sum4(vec4<f32>(v, 0.0, 0.0, 0.0), lane).x; }
fn wg_argmax(v: f32, i: u32, lane: Lane) -> u32 {
  let best = subgroupMax(v);
  let at = subgroupMin(select(0xffffffffu, i, v == best));
  if (lane.sg_id == 0u) { red_v[lane.id / lane.sg_size] = best; red_i[lane.id / lane.sg_size] = at; }
  workgroupBarrier();
  var bv = red_v[0];
  var bi = red_i[0];
  for (var k = 1u; k < 256u / lane.sg_size; k++) {
    if (red_v[k] > bv || (red_v[k] == bv && red_i[k] < bi)) { bv = red_v[k]; bi = red_i[k]; }
  }
  workgroupBarrier();
  return bi;
}`;
}

/** The `Params` uniform: 4-byte fields in declaration order. */
export class Params {
  private readonly words: number[] = [];
  private readonly floats = new Set<number>();

  u32(...values: number[]): this {
    for (const v of values) this.words.push(v >>> 0);
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) {
      this.floats.add(this.words.length);
      this.words.push(v);
    }
    return this;
  }

  bytes(): ArrayBuffer {
    const buf = new ArrayBuffer(Math.max(16, Math.ceil((this.words.length * 4) / 16) * 16));
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((v, i) => (this.floats.has(i) ? (f[i] = v) : (u[i] = v)));
    return buf;
  }
}
