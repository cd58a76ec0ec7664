// The dashboard in a real browser (Debian's headless Chromium): assayd with the demo's data (MATH-500
// uploaded, fitted, an adaptive test, an audit and a comparison through the CLI), then every view.
// Checks: a wrong key is refused with a clear message; sign-in shows team and role; the
// leaderboard's first 10 rows are the JSON API's; an item's curve opens from the item table and
// from the scatter; an audit's page follows labels submitted through the CLI to its decision
// without a reload; the server going away is reported. Saves a screenshot of every view in --out.
//
// node tests/browser/dashboard_test.mjs --assayd build/server/assayd --assay build/client/assay \
//   --data ../shared/data/math500.csv --out build/screenshots
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Server, args, launch, signIn, timeLeaderboard } from "./harness.mjs";

const opt = args(["assayd", "assay", "data", "out"]);
mkdirSync(opt.out, { recursive: true });
const server = await Server.start(opt.assayd, opt.assay);
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const problems = [];
let serverGone = false; // after it, failed loads are what the test expects
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  if (m.type() === "error" && !/status of (401|404|503)/.test(m.text()) && !serverGone) problems.push(`console: ${m.text()}`);
});
const shot = (name) => page.screenshot({ path: join(opt.out, `${name}.png`), fullPage: true });
const go = (hash) => page.evaluate((h) => (location.hash = h), hash);
const text = (selector) => page.locator(selector).innerText();
let step = "";
const ok = (what) => console.log(`ok - ${what}`);

try {
  step = "the demo";
  const demo = server.cli("demo", opt.data);
  const benchmarks = (await server.api("/v1/benchmarks")).benchmarks;
  assert.equal(benchmarks.length, 1);
  const bm = benchmarks[0].id;
  ok(`demo loaded (${bm})`);

  step = "a wrong key";
  await page.goto(server.url);
  await shot("signin");
  await page.fill("#api-key", "assay_not_a_real_key");
  await page.click("button[type=submit]");
  await page.waitForSelector("#signin-message.notice-error");
  assert.match(await text("#signin-message"), /not accepted/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "a refused key is not kept");
  await shot("signin-wrong-key");
  ok(`wrong key: "${await text("#signin-message")}"`);

  step = "sign in";
  await signIn(page, server);
  assert.match(await text("[data-testid=whoami]"), /dashboard · admin/);
  assert.ok(!page.url().includes(server.key), "the key is never in the URL");
  await page.waitForSelector("[data-testid=benchmarks] tbody tr a");
  assert.match(await text("[data-testid=benchmarks] tbody"), /139\s+500\s+69,500/);
  await shot("benchmarks");
  ok("signed in; the benchmark list shows models, items, cells");

  step = "the leaderboard";
  await go(`#/benchmarks/${bm}/leaderboard`);
  await page.waitForSelector("[data-testid=ability-scatter] canvas");
  const api = (await server.api(`/v1/benchmarks/${bm}/abilities?pageSize=10`)).abilities;
  const rows = await page.$$eval("[data-testid=leaderboard] tbody tr", (trs) =>
    trs.slice(0, 10).map((tr) => Array.from(tr.children).map((td) => td.textContent)),
  );
  assert.equal(rows.length, 10);
  rows.forEach((r, i) => {
    assert.equal(r[0], String(api[i].rank), `row ${i + 1} rank`);
    assert.equal(r[1], api[i].model, `row ${i + 1} model`);
    assert.equal(r[2], api[i].theta[0].toFixed(2), `row ${i + 1} theta`);
    assert.equal(r[3], api[i].se[0].toFixed(2), `row ${i + 1} SE`);
    assert.equal(r[5], `${(100 * api[i].predictedAccuracy).toFixed(1)}%`, `row ${i + 1} predicted accuracy`);
  });
  await shot("leaderboard");
  ok("the leaderboard's first 10 rows equal the JSON API's");
  await page.fill("[data-testid=leaderboard] input[type=search]", "gemma");
  const found = await page.$$eval("[data-testid=leaderboard] tbody tr", (trs) => trs.map((tr) => tr.children[1].textContent));
  assert.ok(found.length > 0 && found.every((m) => m.toLowerCase().includes("gemma")), `search: ${found}`);
  ok(`search finds ${found.length} gemma rows`);

  step = "an item's curve";
  await go(`#/benchmarks/${bm}/items`);
  await page.waitForSelector("[data-testid=items] tbody tr[tabindex]");
  const item = await page.$eval("[data-testid=items] tbody tr", (tr) => tr.children[0].textContent);
  await page.click("[data-testid=items] tbody tr");
  await page.waitForSelector("[data-testid=item-curves] canvas");
  assert.match(await text("[data-testid=item-curves] .u-legend"), new RegExp(`\\b${item}\\b`));
  // Click-through from the scatter: the point under the cursor becomes a curve and the selected row.
  const point = await page.evaluate(() => {
    const over = document.querySelector("[data-testid=item-scatter] .u-over").getBoundingClientRect();
    return { x: over.left + over.width / 2, y: over.top + over.height / 2 };
  });
  let picked = false;
  for (let dx = 0; dx < 200 && !picked; dx += 4) {
    for (const sign of [1, -1]) {
      await page.mouse.click(point.x + sign * dx, point.y + 40);
      if ((await page.$$("[data-testid=item-curves] .u-legend .u-series")).length > 2) {
        picked = true;
        break;
      }
    }
  }
  assert.ok(picked, "a click on the scatter selects an item");
  assert.equal(await page.$$eval("[data-testid=items] tbody tr.selected", (trs) => trs.length), 1);
  await shot("items");
  ok(`item ${item}'s curve opens from the table; a scatter click adds another and selects its row`);

  step = "fit versions, one running";
  // A fit that would run for minutes (tolerance near zero), followed live, then cancelled.
  const running = JSON.parse(server.cli("fits", "start", "--json", "--no-current", "--dims", "3", "--tol", "1e-15", "--max-iter", "100000", bm)).id;
  await go(`#/benchmarks/${bm}/fits`);
  await page.waitForSelector("[data-testid=fit-progress] canvas");
  const iterationOf = () => page.$$eval("[data-testid=fits] tbody tr", (trs, id) => {
    const tr = trs.find((r) => r.textContent.includes(id));
    return tr ? Number(tr.children[5].textContent) : -1;
  }, running);
  const before = await iterationOf();
  await page.waitForFunction(
    ([id, n]) => Array.from(document.querySelectorAll("[data-testid=fits] tbody tr")).some((tr) => tr.textContent.includes(id) && Number(tr.children[5].textContent) > n + 20),
    [running, before],
  );
  await shot("fits");
  server.cli("fits", "cancel", running);
  await page.waitForFunction((id) => Array.from(document.querySelectorAll("[data-testid=fits] tbody tr")).some((tr) => tr.textContent.includes(id) && /cancelled/.test(tr.textContent)), running);
  ok(`a running fit's iterations and loss follow live (from iteration ${before}), then its cancellation`);

  step = "adaptive tests";
  await go("#/sessions");
  await page.waitForSelector("[data-testid=sessions] tbody tr a");
  await shot("sessions");
  await page.click("[data-testid=sessions] tbody tr a");
  await page.waitForSelector("[data-testid=session-theta] canvas");
  await page.waitForSelector("[data-testid=live-state].live-ended, [data-testid=live-state].live-live");
  await shot("session");
  ok("adaptive tests: the list and a session's trajectory");

  step = "comparisons";
  await go("#/comparisons");
  await page.waitForSelector("[data-testid=comparisons] tbody tr a");
  assert.match(await text("[data-testid=comparisons] tbody"), /regression/);
  await page.click("[data-testid=comparisons] tbody tr a");
  await page.waitForSelector("[data-testid=comparison-cs] canvas");
  await shot("comparison");
  ok("comparisons: the demo's regression and its confidence sequence");

  step = "a live audit";
  const config = join(server.dir, "audit.json");
  writeFileSync(config, JSON.stringify({ tau: 0.6, pModel: 0.5, pAuditor: 0.8, budget: 5 }));
  const audit = JSON.parse(server.cli("audits", "create", "--json", "--name", "live in the browser", "--config", config)).id;
  await go(`#/audits/${audit}`);
  await page.waitForSelector("[data-testid=live-state].live-live");
  await page.evaluate(() => (window.__sameDocument = true));
  let decided = "";
  let seen = 0;
  for (let i = 1; i <= 200 && !decided; i++) {
    server.cli("audits", "case", "--subgroup", i % 2 === 0 ? "algebra" : "geometry", audit, `c${i}`);
    const out = server.cli("audits", "label", "--json", audit, `c${i}`, i % 10 === 0 ? "0" : "1");
    decided = JSON.parse(out).decision ?? "";
    if (decided === "DECISION_NONE") decided = "";
    if (i === 5) {
      // The page follows while labels arrive.
      await page.waitForFunction(() => /tested 5\b/.test(document.querySelector("[data-testid=summary]")?.textContent ?? ""));
      seen = 5;
      await shot("audit-running");
    }
  }
  assert.equal(decided, "DECISION_CERTIFIED");
  await page.waitForFunction(() => /certified/.test(document.querySelector("[data-testid=summary]")?.textContent ?? ""), null, { timeout: 15000 });
  await page.waitForSelector("[data-testid=live-state].live-ended");
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
  assert.ok(seen === 5);
  const tested = (await server.api(`/v1/audits/${audit}`)).tested;
  assert.match(await text("[data-testid=summary]"), new RegExp(`tested ${tested}\\b`));
  const groups = await page.$$eval("[data-testid=subgroups] tbody tr", (trs) => trs.map((tr) => tr.children[0].textContent).sort());
  assert.deepEqual(groups, ["algebra", "geometry"]);
  await shot("audit");
  ok(`an audit followed live to "certified" after ${tested} labels from the CLI, without a reload; its subgroups listed`);
  await go("#/audits");
  await page.waitForSelector("[data-testid=audits] tbody tr a");
  await shot("audits");

  step = "a monitor";
  const monitor = JSON.parse(server.cli("monitors", "create", "--json", "--name", "production", "--tau", "0.8")).id;
  await go(`#/monitors/${monitor}`);
  await page.waitForSelector("[data-testid=live-state].live-live");
  // 30 scores at 90%, then 30 at 33%: the detector crosses 1/α and alarms.
  const scores = Array.from({ length: 60 }, (_, i) => (i < 30 ? (i % 10 === 0 ? "0" : "1") : i % 3 === 0 ? "1" : "0"));
  for (let k = 0; k < 60; k += 5) server.cli("monitors", "scores", monitor, ...scores.slice(k, k + 5));
  await page.waitForFunction(() => /60 scores/.test(document.querySelector("main .summary")?.textContent ?? ""));
  const alarms = Number((await server.api(`/v1/monitors/${monitor}`)).alarms ?? 0);
  assert.ok(alarms > 0, "the drop raises an alarm");
  assert.match(await text("main .summary"), new RegExp(`${alarms} alarms?, last at score`));
  await shot("monitor");
  await go("#/monitors");
  await page.waitForSelector("[data-testid=monitors] tbody tr a");
  await shot("monitors");
  ok(`a monitor's statistic follows scores from the CLI to ${alarms} alarm(s)`);

  step = "not found";
  await go("#/audits/aud_0000000000000000");
  await page.waitForSelector(".notice-error");
  assert.match(await text(".notice-error"), /Not found: .*aud_0000000000000000/);
  await shot("not-found");
  ok("an unknown audit says so");

  step = "keyboard";
  await go("#/benchmarks");
  await page.waitForSelector("[data-testid=benchmarks] tbody tr[tabindex]");
  await page.keyboard.press("g");
  await page.keyboard.press("a");
  await page.waitForSelector("[data-testid=audits] tbody tr[tabindex]");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("type")), "search");
  await page.keyboard.press("Escape");
  await page.focus("[data-testid=audits] tbody tr[tabindex]");
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-testid=audit-evalues] canvas");
  ok("keyboard: g a opens audits, / focuses search, Enter opens a row");

  step = "a key revoked while signed in";
  const second = JSON.parse(server.cli("keys", "create", "--json", "--role", "read", "--description", "browser test"));
  const context = await browser.newContext();
  const other = await context.newPage();
  await signIn(other, { url: server.url, key: second.key });
  assert.match(await other.locator("[data-testid=whoami]").innerText(), /dashboard · read/);
  server.cli("keys", "revoke", second.info.prefix);
  await other.evaluate(() => (location.hash = "#/audits"));
  await other.waitForSelector("#signin-message.notice-error");
  assert.match(await other.locator("#signin-message").innerText(), /Signed out: the server no longer accepts this key/);
  await other.screenshot({ path: join(opt.out, "key-revoked.png") });
  await context.close();
  ok("a key revoked while signed in signs the page out, saying why");

  step = "page weight and speed";
  const t = await timeLeaderboard(browser, server, bm);
  console.log(`MATH-500 leaderboard, first load: first rows ${t.firstRowsMs.toFixed(0)} ms, chart ${t.chartMs.toFixed(0)} ms; page ${(t.pageBytes / 1024).toFixed(0)} KiB, API ${(t.apiBytes / 1024).toFixed(0)} KiB in ${t.apiCalls} calls`);

  step = "the server goes away";
  serverGone = true;
  await server.stop();
  await go("#/audits");
  await page.waitForSelector(".notice-error");
  assert.match(await text(".notice-error"), /did not answer/);
  await shot("server-gone");
  ok("a server that went away is reported");

  step = "sign out";
  await page.click("button.signout");
  await page.waitForSelector("#api-key");
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  ok("sign out forgets the key");

  assert.deepEqual(problems, [], "no page errors");
  console.log(`screenshots in ${opt.out}; demo:\n${demo.split("\n").slice(0, 3).join("\n")}`);
} catch (e) {
  console.error(`FAILED at ${step}: ${e.stack ?? e}`);
  await shot("failure").catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
  await server.stop().catch(() => {});
}
