// Draws each row's next token as core's sampling.ts drawToken does (there in float64, here in f32), one workgroup a
// row: over the candidates in sampling order (logit descending, id ascending), with w_i = exp((x_i − max) / T),
// keep the first top_k, then the shortest prefix holding top_p of their mass, then those with w ≥ min_p, and pick
// the first whose cumulative w exceeds u·(their total). out i32 [R], x [R, V] logits, u [R] draws in [0, 1).
// An element's place in the order is its key (rank, id), rank = the logit's order-preserving bits, inverted. Each
// cut is a radix search over the key, 4 bits a pass: a 16-bin histogram (of counts or of w) of the candidates whose
// key matches the digits chosen so far, then the first bin where the running sum reaches the goal; elements of
// equal rank go on over the bits of their ids. Once a cut leaves at most CAP candidates, they are gathered into
// workgroup memory and the later passes read only them.
// Completed by programs/sample.ts with the reductions (Lane, wg_sum, wg_sum4, wg_argmax) and GRID.
struct Params { rows: u32, v: u32, temperature: f32, top_k: u32, top_p: f32, min_p: f32, id_shift: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;

var<workgroup> shared_count: u32;
const CAP = 1024u;
var<workgroup> kept_v: array<f32, CAP>;
var<workgroup> kept_i: array<u32, CAP>;
var<workgroup> kept_n: atomic<u32>;
/** The elements the passes read: the row (n = V), or the gathered candidates (n ≤ CAP). */
var<private> gathered: bool;
var<private> n: u32;

struct Element { v: f32, i: u32 }

fn element(row: u32, k: u32) -> Element {
  if (gathered) { return Element(kept_v[k], kept_i[k]); }
  return Element(x[row * p.v + k], k);
}

/** Smaller for larger logits. */
fn rank(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(~(b | 0x80000000u), b, (b & 0x80000000u) != 0u);
}

/** Elements with key ≤ (r, i) are in. */
struct Key { r: u32, i: u32 }

fn within(r: u32, i: u32, k: Key) -> bool { return r < k.r || (r == k.r && i <= k.i); }

/** The candidates of a search: keys up to `cut` with w ≥ min_w, counted (f = 1) or weighed (f = w). */
struct Set { row: u32, top: f32, cut: Key, min_w: f32, mass: bool }

fn weight(v: f32, top: f32) -> f32 { return exp((v - top) / p.temperature); }

/** A search in progress: the digits chosen (bits `fixed` of the key part equal `prefix`), Σ f before them. */
struct Cursor { goal: f32, below: f32, fixed: u32, prefix: u32 }

/** 16 bins of Σ f over the candidates matching the cursor, by the digit at `shift` of rank (or of id, at rank tie). */
fn histogram(s: Set, c: Cursor, by_id: bool, tie: u32, shift: u32, lane: Lane) -> array<vec4<f32>, 4> {
  var h: array<vec4<f32>, 4>;
  for (var k = lane.id; k < n; k += 256u) {
    let e = element(s.row, k);
    let v = e.v;
    let i = e.i;
    let r = rank(v);
    let w = weight(v, s.top);
    let part = select(r, i, by_id);
    if (within(r, i, s.cut) && w >= s.min_w && (!by_id || r == tie) && (part & c.fixed) == c.prefix) {
      let bin = (part >> shift) & 15u;
      h[bin >> 2u] += select(vec4<f32>(0.0), vec4<f32>(select(1.0, w, s.mass)), vec4<u32>(0u, 1u, 2u, 3u) == vec4<u32>(bin & 3u));
    }
  }
  return array<vec4<f32>, 4>(wg_sum4(h[0], lane), wg_sum4(h[1], lane), wg_sum4(h[2], lane), wg_sum4(h[3], lane));
}

/**
 * The next digit: the first non-empty bin where the running sum reaches the goal, or the last non-empty bin when
 * none does (rounding); the goal then becomes unreachable, so that the later digits take their last bins too.
 */
fn advance(c: Cursor, bins: array<vec4<f32>, 4>, shift: u32) -> Cursor {
  var h = bins;
  var cum = c.below;
  var chosen = 16u;
  var last = 0u;
  var before_last = c.below;
  for (var b = 0u; b < 16u; b++) {
    let n = h[b >> 2u][b & 3u];
    if (n > 0.0) {
      if (cum + n >= c.goal) { chosen = b; break; }
      last = b;
      before_last = cum;
    }
    cum += n;
  }
  var next = c;
  if (chosen == 16u) {
    chosen = last;
    cum = before_last;
    next.goal = 0x1.fffffep+127f; // the largest f32
  }
  next.below = cum;
  next.fixed = c.fixed | (15u << shift);
  next.prefix = c.prefix | (chosen << shift);
  return next;
}

/** The smallest key among the candidates whose running Σ f (in key order) reaches `goal`. */
fn find(s: Set, goal: f32, lane: Lane) -> Key {
  var c = Cursor(goal, 0.0, 0u, 0u);
  for (var d = 0u; d < 8u; d++) {
    let shift = 28u - 4u * d;
    c = advance(c, histogram(s, c, false, 0u, shift, lane), shift);
  }
  let r = c.prefix;
  // the smallest id of that rank, and how many share it
  var count = 0.0;
  var first = 0xffffffffu;
  for (var k = lane.id; k < n; k += 256u) {
    let e = element(s.row, k);
    if (rank(e.v) == r && within(r, e.i, s.cut) && weight(e.v, s.top) >= s.min_w) {
      count += 1.0;
      first = min(first, e.i);
    }
  }
  let id = wg_argmax(select(0.0, 1.0, first != 0xffffffffu), first, lane);
  let ties = wg_sum(count, lane);
  if (lane.id == 0u) { shared_count = u32(ties); }
  if (workgroupUniformLoad(&shared_count) <= 1u) { return Key(r, id); }
  var t = Cursor(c.goal, c.below, 0u, 0u);
  for (var d = 0u; d <= p.id_shift / 4u; d++) {
    let shift = p.id_shift - 4u * d;
    t = advance(t, histogram(s, t, true, r, shift, lane), shift);
  }
  return Key(r, t.prefix);
}

/** Gathers the elements up to `cut` into workgroup memory when there are at most CAP of them. */
fn gather(row: u32, cut: Key, lane: Lane) {
  var count = 0.0;
  for (var k = lane.id; k < n; k += 256u) {
    let e = element(row, k);
    if (within(rank(e.v), e.i, cut)) { count += 1.0; }
  }
  let total = wg_sum(count, lane);
  if (lane.id == 0u) { shared_count = select(u32(total), CAP + 1u, gathered); atomicStore(&kept_n, 0u); }
  if (workgroupUniformLoad(&shared_count) > CAP) { return; } // too many, or gathered already
  for (var k = lane.id; k < n; k += 256u) {
    let e = element(row, k);
    if (within(rank(e.v), e.i, cut)) {
      let slot = atomicAdd(&kept_n, 1u);
      kept_v[slot] = e.v;
      kept_i[slot] = e.i;
    }
  }
  workgroupBarrier();
  gathered = true;
  n = shared_count;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = min(grid_index(wg, nwg), p.rows - 1u);
  let base = row * p.v;
  var best = x[base];
  var at = 0u;
  for (var i = lane.id; i < p.v; i += 256u) {
    if (x[base + i] > best) { best = x[base + i]; at = i; }
  }
  let top = x[base + wg_argmax(best, at, lane)];
  gathered = false;
  n = p.v;
  var cut = Key(0xffffffffu, 0xffffffffu);
  if (p.top_k > 0u && p.top_k < p.v) {
    cut = find(Set(row, top, cut, -1.0, false), f32(p.top_k), lane);
    gather(row, cut, lane);
  }
  if (p.top_p < 1.0) {
    var mass = 0.0;
    for (var k = lane.id; k < n; k += 256u) {
      let e = element(row, k);
      if (within(rank(e.v), e.i, cut)) { mass += weight(e.v, top); }
    }
    cut = find(Set(row, top, cut, -1.0, true), p.top_p * wg_sum(mass, lane), lane);
    gather(row, cut, lane);
  }
  var kept = 0.0;
  for (var k = lane.id; k < n; k += 256u) {
    let e = element(row, k);
    let w = weight(e.v, top);
    if (within(rank(e.v), e.i, cut) && w >= p.min_p) { kept += w; }
  }
  // the first candidate whose running Σ w exceeds u·kept: reaches the next float up
  let goal = u[row] * wg_sum(kept, lane);
  let pick = find(Set(row, top, cut, p.min_p, true), bitcast<f32>(bitcast<u32>(goal) + 1u), lane);
  if (lane.id == 0u && grid_index(wg, nwg) < p.rows) { out[row] = i32(pick.i); }
}
