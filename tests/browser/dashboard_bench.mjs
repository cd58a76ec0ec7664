// The dashboard's first-load speed in headless Chromium (issue #31's figures): the MATH-500
// leaderboard (139 models x 500 items, the demo's data) and a 5,000-model x 12,032-item leaderboard
// (synthetic 2PL responses, 240 items per model: 1.2 M cells, every item answered by ~100 models).
// Each first load is a new browser context (empty cache, key already in session storage); the page
// marks its first rows and its drawn chart. Prints every run and the median.
//
// node tests/browser/dashboard_bench.mjs --assayd build/server/assayd --assay build/client/assay \
//   --data ../shared/data/math500.csv --runs 7
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Server, args, launch, timeLeaderboard } from "./harness.mjs";

const opt = args(["assayd", "assay", "data", "runs"]);
const runs = Number(opt.runs);

// Mulberry32: a seeded generator, so every run of the bench uploads the same matrix.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normal(u) {
  return Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

function synthetic(path, models, items, perModel) {
  const u = rng(20261206);
  const a = Array.from({ length: items }, () => 0.5 + 1.5 * u());
  const b = Array.from({ length: items }, () => normal(u));
  const lines = ["model,item,correct"];
  for (let m = 0; m < models; m++) {
    const theta = normal(u);
    const start = Math.floor(u() * items);
    for (let k = 0; k < perModel; k++) {
      const j = (start + k * 50) % items; // spread over the bank
      const p = 1 / (1 + Math.exp(-(a[j] * theta + b[j])));
      lines.push(`model_${m},item_${j},${u() < p ? 1 : 0}`);
    }
  }
  writeFileSync(path, lines.join("\n") + "\n");
}

async function benchmark(server, name, csv) {
  const id = JSON.parse(server.cli("benchmarks", "create", "--json", name)).id;
  server.cli("upload", id, csv);
  server.cli("fits", "start", "--wait", id);
  return id;
}

function median(xs) {
  const s = [...xs].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

const server = await Server.start(opt.assayd, opt.assay);
const browser = await launch();
try {
  const big = join(server.dir, "big.csv");
  synthetic(big, 5000, 12032, 240);
  const cases = [
    ["MATH-500 (139 x 500)", await benchmark(server, "math500", opt.data)],
    ["synthetic 5,000 x 12,032", await benchmark(server, "big", big)],
  ];
  for (const [name, id] of cases) {
    const all = [];
    for (let r = 0; r < runs; r++) all.push(await timeLeaderboard(browser, server, id));
    for (const t of all) {
      console.log(`${name}: first rows ${t.firstRowsMs.toFixed(0)} ms, chart ${t.chartMs.toFixed(0)} ms, page ${(t.pageBytes / 1024).toFixed(0)} KiB, API ${(t.apiBytes / 1024).toFixed(0)} KiB in ${t.apiCalls} calls`);
    }
    console.log(`${name}: median of ${runs}: first rows ${median(all.map((t) => t.firstRowsMs)).toFixed(0)} ms, chart ${median(all.map((t) => t.chartMs)).toFixed(0)} ms`);
  }
} finally {
  await browser.close();
  await server.stop();
}
