// The conv's activation, by the constant ACT: 0 silu, 1 relu, 2 identity.
fn activate(v: f32) -> f32 {
  if (ACT == 0u) { return v / (1.0 + exp(-v)); }
  if (ACT == 1u) { return max(v, 0.0); }
  return v;
}
