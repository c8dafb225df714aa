import { fail } from "@mamba2/core";
import source from "../shaders/copy.wgsl";
import type { GpuTensor } from "../tensor.js";
import { compose, Params } from "../wgsl.js";
import { type Context, groupsOf, header } from "./context.js";

/**
 * dst ← src (tensors of the same bytes), part by part, by a kernel in ranges of at most one binding: on an H200
 * copyBufferToBuffer moved 0.5–0.8 TB/s (read plus written) where a kernel reads 2.9–3.75 TB/s, and a decode step
 * backs up the whole cache (2.7b: 168 MB of states). Not between parts of one buffer (items of one stack): neither
 * a dispatch nor a buffer copy may have one buffer on both sides.
 */
export function copy(ctx: Context, dst: GpuTensor, src: GpuTensor): void {
  const chunk = Math.floor(ctx.bindingBytes / 256) * 256; // binding offsets stay multiples of 256
  src.parts.forEach((s, i) => {
    const d = dst.parts[i];
    const [dOffset, sOffset] = [d.offset ?? 0, s.offset ?? 0];
    if (d.buffer === s.buffer) fail("copy: the source and the destination are in one buffer (items of one stack)");
    for (let at = 0; at < s.size; at += chunk) {
      const size = Math.min(chunk, s.size - at);
      const vec = size % 16 === 0 ? 4 : 1;
      ctx.runner.dispatch({
        key: `copy/${vec}`,
        source: () => compose(header({}), `alias W = ${vec === 4 ? "vec4<u32>" : "u32"};`, source),
        params: new Params().u32(size / (4 * vec)).bytes(),
        bindings: [{ buffer: d.buffer, offset: dOffset + at, size }, { buffer: s.buffer, offset: sOffset + at, size }],
        workgroups: groupsOf(size / (4 * vec)),
      });
    }
  });
}
