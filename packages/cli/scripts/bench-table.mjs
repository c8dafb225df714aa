// `pnpm bench`: mamba2 bench over the 130m shape in f32 and f16 on 1 and 2 threads, and the reference backend as
// the baseline, as one markdown table (speedups against the baseline measured in the same run).
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const shape = process.env.BENCH_SHAPE ?? "130m";
const [prompt, gen] = [process.env.BENCH_PROMPT ?? "512", process.env.BENCH_GEN ?? "128"];
const run = (...args) => JSON.parse(execFileSync(process.execPath, [main, "bench", "--shape", shape, "--json", ...args], { encoding: "utf8" }));

const base = run("--backend", "reference", "--prompt-tokens", "64", "--gen-tokens", "4");
const rows = [];
for (const dtype of ["f32", "f16"]) {
  for (const threads of ["1", "2"]) {
    const r = run("--backend", "wasm", "--dtype", dtype, "--threads", threads, "--prompt-tokens", prompt, "--gen-tokens", gen);
    rows.push([`wasm ${dtype}`, threads, r.prefill_tokens_per_s, r.decode_tokens_per_s, r.decode_limit_tokens_per_s, r.bandwidth_gb_per_s]);
  }
}
const f = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
console.log(`${shape} shape, random weights, prompt ${prompt} tokens, ${gen} decode steps; ${cpus()[0].model}, ${cpus().length} cores, Node ${process.version}`);
console.log(`| backend | threads | prefill tok/s | decode tok/s | read bandwidth GB/s | decode limit tok/s | prefill × reference | decode × reference |`);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- |`);
console.log(`| reference f32 | 1 | ${f(base.prefill_tokens_per_s)} | ${f(base.decode_tokens_per_s)} | ${f(base.bandwidth_gb_per_s)} | ${f(base.decode_limit_tokens_per_s)} | 1 | 1 |`);
for (const [name, threads, p, d, limit, bw] of rows) {
  console.log(`| ${name} | ${threads} | ${f(p)} | ${f(d)} | ${f(bw)} | ${f(limit)} | ${f(p / base.prefill_tokens_per_s)} | ${f(d / base.decode_tokens_per_s)} |`);
}
