import { it } from "vitest";
import { loadModelFromDir } from "../src/node.js";
it("speed", async () => {
  const model = await loadModelFromDir("/work/main/models/mamba2-shakespeare");
  for (const T of [256, 1024, 2048]) {
    const ids = Array.from({ length: T }, (_, i) => 2 + ((i * 7919) % 2000));
    const c = model.createCache(1);
    const t0 = performance.now();
    await model.forward([ids], { cache: c, logits: "none" });
    console.log(T, ((performance.now() - t0) / 1000).toFixed(2), "s", (T / ((performance.now() - t0) / 1000)).toFixed(0), "tok/s", (process.memoryUsage().rss/2**20).toFixed(0), "MiB");
  }
}, 600000);
