/**
 * The playground's Vite config. The bundled model (models/mamba2-shakespeare in the repository) is served at
 * /models/mamba2-shakespeare/ by the dev server and written into the build, so that the 12 MB file lives in git
 * once.
 */
import { createReadStream, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const MODEL_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../models/mamba2-shakespeare");
const MODEL_FILES = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"];
const BASE = "models/mamba2-shakespeare/";

function bundledModel(): Plugin {
  return {
    name: "playground:bundled-model",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? "").split("?")[0];
        const file = path.startsWith(`/${BASE}`) ? path.slice(BASE.length + 1) : null;
        if (file === null) return next();
        if (!MODEL_FILES.includes(file)) {
          res.statusCode = 404;
          res.end("not found");
          return;
        }
        const full = join(MODEL_DIR, file);
        res.setHeader("content-type", file.endsWith(".json") ? "application/json" : "application/octet-stream");
        res.setHeader("content-length", String(statSync(full).size));
        createReadStream(full).pipe(res);
      });
    },
    generateBundle() {
      for (const file of MODEL_FILES) {
        this.emitFile({ type: "asset", fileName: BASE + file, source: readFileSync(join(MODEL_DIR, file)) });
      }
    },
  };
}

export default defineConfig({
  base: "./",
  plugins: [bundledModel()],
  worker: { format: "es" },
  build: { target: "es2022", chunkSizeWarningLimit: 2000 },
});
