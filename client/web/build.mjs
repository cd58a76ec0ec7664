// Builds the dashboard into OUT_DIR (first argument): index.html, app.js and app.css, the three files
// assayd embeds and serves. Type-checks with tsc first (a type error fails the build), then bundles
// and minifies with esbuild. Nothing is fetched: every input is in this folder and node_modules.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUT_DIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

try {
  execFileSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", here], {
    stdio: "inherit",
  });
} catch {
  console.error("build.mjs: type errors (above); nothing built");
  process.exit(1);
}

await esbuild.build({
  entryPoints: [join(here, "src/main.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  outfile: join(out, "app.js"),
  legalComments: "none",
  logLevel: "warning",
});
// uPlot's stylesheet first, then ours.
const css =
  readFileSync(join(here, "node_modules/uplot/dist/uPlot.min.css"), "utf8") +
  "\n" +
  readFileSync(join(here, "src/style.css"), "utf8");
writeFileSync(join(out, "app.css"), (await esbuild.transform(css, { loader: "css", minify: true })).code);
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
