// out[r] = the first index of the largest x[r, :]. out i32 [R], x [R, V] f32.
export function argmax(out: usize, x: usize, rows: i32, v: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * <usize>v * 4;
    let best = 0;
    let max = load<f32>(row);
    for (let i = 1; i < v; i++) {
      const val = load<f32>(row + (<usize>i << 2));
      if (val > max) {
        max = val;
        best = i;
      }
    }
    store<i32>(out + (<usize>r << 2), best);
  }
}
