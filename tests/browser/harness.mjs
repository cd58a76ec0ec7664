// Shared by the dashboard's browser test and its benchmark: starts assayd on loopback (ports 0)
// with a fresh database and a team, runs the CLI against it, and drives Debian's Chromium through
// playwright-core (from client/web's lockfile-pinned node_modules; no browser is downloaded).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../client/web/package.json"));
const { chromium } = require("playwright-core");

export const CHROMIUM = process.env.ASSAY_CHROMIUM ?? "/usr/bin/chromium";

// --name value pairs from argv.
export function args(names) {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (!names.includes(name)) throw new Error(`unknown option ${argv[i]} (expected ${names.map((n) => "--" + n).join(" ")})`);
    out[name] = argv[i + 1];
  }
  for (const n of names) if (out[n] === undefined) throw new Error(`missing --${n}`);
  return out;
}

export class Server {
  // Starts `assayd` with a new database and a team whose admin key is `this.key`.
  static async start(assayd, assay) {
    const s = new Server();
    s.assay = assay;
    s.dir = mkdtempSync(join(tmpdir(), "assay-dash-"));
    const db = join(s.dir, "assay.db");
    s.key = execFileSync(assayd, ["--db", db, "team", "create", "dashboard"], { encoding: "utf8" }).trim();
    s.proc = spawn(assayd, ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--db", db], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`assayd did not start:\n${log}`)), 30000);
      s.proc.stderr.on("data", (chunk) => {
        log += chunk;
        const grpc = /listening on port (\d+)/.exec(log);
        const http = /HTTP\/JSON API on (http:\/\/[^ \n]+)/.exec(log);
        if (grpc && http && !s.url) {
          s.grpc = `127.0.0.1:${grpc[1]}`;
          s.url = http[1];
          clearTimeout(timer);
          resolve();
        }
      });
      s.proc.on("exit", (code) => reject(new Error(`assayd exited (${code}):\n${log}`)));
    });
    return s;
  }

  // Runs the CLI with this server and key; returns its stdout.
  cli(...argv) {
    return execFileSync(this.assay, ["--server", this.grpc, "--timeout", "120", ...argv], {
      encoding: "utf8",
      env: { ...process.env, ASSAY_TOKEN: this.key },
      maxBuffer: 64 << 20,
    });
  }

  // The JSON API as the page sees it.
  async api(path) {
    const r = await fetch(new URL(path, this.url), { headers: { Authorization: `Bearer ${this.key}` } });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
  }

  async stop() {
    if (this.proc.exitCode === null) {
      const exited = new Promise((resolve) => this.proc.on("exit", resolve));
      this.proc.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root in a sandboxless container, with no network beyond loopback.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export async function signIn(page, server) {
  await page.goto(server.url);
  await page.fill("#api-key", server.key);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=whoami]");
}

// A first load of the leaderboard (a new browser context: empty cache; the key already in session
// storage, as after sign-in) and the page's own marks: ms from navigation start to the first rows
// and to the drawn chart, and the bytes transferred.
export async function timeLeaderboard(browser, server, benchmarkId) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addInitScript((key) => sessionStorage.setItem("assay.apiKey", key), server.key);
  const page = await context.newPage();
  await page.goto(`${server.url}#/benchmarks/${benchmarkId}/leaderboard`);
  await page.waitForFunction(() => performance.getEntriesByName("leaderboard-chart").length > 0, null, { timeout: 120000 });
  const figures = await page.evaluate(() => {
    const mark = (n) => performance.getEntriesByName(n)[0].startTime;
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const bytes = (e) => e.transferSize || e.encodedBodySize || 0;
    const assets = resources.filter((e) => !e.name.includes("/v1/"));
    const api = resources.filter((e) => e.name.includes("/v1/"));
    return {
      firstRowsMs: mark("leaderboard-first-rows"),
      chartMs: mark("leaderboard-chart"),
      pageBytes: bytes(nav) + assets.reduce((s, e) => s + bytes(e), 0),
      apiBytes: api.reduce((s, e) => s + bytes(e), 0),
      apiCalls: api.length,
    };
  });
  await context.close();
  return figures;
}
