// Bundles the browser demo (src/demo) and the SDK it uses into one ES module with esbuild.
// Usage: node scripts/build-demo.mjs [outdir]   (default: dist/demo, where the server looks)
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = resolve(process.argv[2] ?? join(root, "dist", "demo"));

await mkdir(outdir, { recursive: true });
const result = await build({
  entryPoints: [join(root, "src", "demo", "main.ts")],
  outfile: join(outdir, "demo.js"),
  bundle: true,
  platform: "browser",
  format: "esm",
  target: ["chrome111", "firefox111", "safari16.4"],
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
});
await copyFile(join(root, "src", "demo", "index.html"), join(outdir, "index.html"));
const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
console.log(`demo built in ${outdir} (demo.js: ${Math.round(bytes / 1024)} KiB)`);
