import { describe, expect, it } from "vitest";
import { floatToHalf, fromFloat32, halfToFloat, toFloat32 } from "../src/index.js";

describe("half precision", () => {
  it("every finite half round-trips through float32", () => {
    for (let h = 0; h < 65536; h++) {
      const f = halfToFloat(h);
      if (!Number.isNaN(f)) expect(floatToHalf(f)).toBe(h);
    }
  });
  it("rounds ties to even and overflows to infinity", () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(1.5 * 2 ** -24)).toBe(0x0002);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(-1e6)).toBe(0xfc00);
  });
  it("bf16 keeps the upper 16 bits; f32 bytes are copied", () => {
    const v = Float32Array.from([3.140625, -2, 0.5]);
    expect(Array.from(toFloat32(fromFloat32(v, "bf16"), "bf16"))).toEqual([3.140625, -2, 0.5]);
    expect(Array.from(toFloat32(fromFloat32(v, "f16"), "f16"))).toEqual([3.140625, -2, 0.5]);
    expect(Array.from(toFloat32(fromFloat32(v, "f32"), "f32"))).toEqual(Array.from(v));
  });
});
