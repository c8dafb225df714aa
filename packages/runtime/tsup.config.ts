import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/node.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: false, // with shared chunks esbuild drops the entries' `export * from "@mamba2/core"`
  target: "es2022",
});
