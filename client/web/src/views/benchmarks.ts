// Benchmarks: the team's list, and one benchmark's leaderboard, items and fit versions.
import { call, callAll, errorText, watch } from "../api";
import { lineChart, palette, scatterChart, type Chart } from "../charts";
import { badge, clear, count, enumWord, fixed, h, notice, num, percent, when } from "../dom";
import type { Cleanup } from "../main";
import { DataTable } from "../table";
import { listPage } from "./page";
import type { Ability, Benchmark, Fit, ItemParams } from "../types";

export function benchmarksView(main: HTMLElement): void {
  listPage<Benchmark>(
    main,
    "Benchmarks",
    {
      testId: "benchmarks",
      columns: [
        { label: "Benchmark", cell: (b) => h("a", { href: `#/benchmarks/${encodeURIComponent(b.id)}` }, b.name || b.id), sort: (a, b) => a.name.localeCompare(b.name) },
        { label: "Models", cell: (b) => count(b.numModels), numeric: true, sort: (a, b) => num(a.numModels) - num(b.numModels) },
        { label: "Items", cell: (b) => count(b.numItems), numeric: true, sort: (a, b) => num(a.numItems) - num(b.numItems) },
        { label: "Cells", cell: (b) => count(b.numCells), numeric: true, sort: (a, b) => num(a.numCells) - num(b.numCells) },
        { label: "Current fit", cell: (b) => (b.currentFitId ? h("code", {}, b.currentFitId) : badge("not calibrated", "muted")) },
        { label: "Created", cell: (b) => when(b.createdAt), sort: (a, b) => num(a.createdAt) - num(b.createdAt) },
      ],
      searchText: (b) => `${b.name} ${b.description ?? ""}`,
      searchLabel: "Search benchmarks",
      emptyText: "No benchmarks yet: assay benchmarks create NAME, then assay upload ID responses.csv (or run the demo).",
      onSelect: (b) => (location.hash = `#/benchmarks/${encodeURIComponent(b.id)}`),
    },
    () => callAll<{ benchmarks?: Benchmark[]; nextPageToken?: string }, Benchmark>("/v1/benchmarks", (p) => p.benchmarks, 1000),
  );
}

// #/benchmarks/ID[/leaderboard|items|fits]
export function benchmarkView(main: HTMLElement, [id, tab]: string[]): Cleanup {
  const active = tab || "leaderboard";
  const fitParam = new URLSearchParams(location.hash.split("?")[1] ?? "").get("fit") ?? "";
  const base = `#/benchmarks/${encodeURIComponent(id)}`;
  const title = h("h1", {}, "Benchmark");
  const facts = h("p", { class: "muted" });
  const tabs = h(
    "nav",
    { class: "tabs", role: "tablist" },
    ...[
      ["leaderboard", "Leaderboard"],
      ["items", "Items"],
      ["fits", "Fit versions"],
    ].map(([t, label]) => h("a", { href: `${base}/${t}`, role: "tab", "aria-selected": String(t === active), class: t === active ? "active" : "" }, label)),
  );
  const body = h("div");
  main.append(h("p", { class: "crumbs" }, h("a", { href: "#/benchmarks" }, "Benchmarks"), " / "), title, facts, tabs, body);
  const cleanups: Cleanup[] = [];
  call<Benchmark>(`/v1/benchmarks/${encodeURIComponent(id)}`)
    .then((b) => {
      title.textContent = b.name || b.id;
      facts.textContent = `${count(b.numModels)} models · ${count(b.numItems)} items · ${count(b.numCells)} responses · current fit ${b.currentFitId || "none"}`;
      if (!b.currentFitId && active !== "fits" && !fitParam) {
        body.append(notice("empty", "This benchmark has no calibration yet: start one with assay fit --benchmark, or POST /v1/benchmarks/ID/fits."));
        return;
      }
      const source = fitParam ? `/v1/fits/${encodeURIComponent(fitParam)}` : `/v1/benchmarks/${encodeURIComponent(id)}`;
      if (active === "leaderboard") cleanups.push(leaderboard(body, source, fitParam));
      else if (active === "items") cleanups.push(items(body, source));
      else cleanups.push(fits(body, b));
    })
    .catch((e) => body.append(notice("error", errorText(e))));
  return () => cleanups.forEach((c) => c());
}

// One ability row's θ ± 1.96·SE drawn as a bar on the leaderboard's common θ scale.
function errorBar(a: Ability, lo: number, hi: number): HTMLElement {
  const theta = a.theta?.[0] ?? 0;
  const se = a.se?.[0] ?? 0;
  const span = hi - lo || 1;
  const left = ((theta - 1.96 * se - lo) / span) * 100;
  const width = ((3.92 * se) / span) * 100;
  const mid = ((theta - lo) / span) * 100;
  return h(
    "div",
    { class: "errbar", title: `θ = ${fixed(theta)} ± ${fixed(1.96 * se)} (95%)` },
    h("div", { class: "errbar-range", style: `left:${Math.max(0, left)}%;width:${Math.min(100, width)}%` }),
    h("div", { class: "errbar-dot", style: `left:${mid}%` }),
  );
}

function leaderboard(body: HTMLElement, source: string, fitId: string): Cleanup {
  const status = notice("loading", "Loading the leaderboard…");
  const chartBox = h("div", { class: "chart", "data-testid": "ability-scatter" });
  let scale: [number, number] = [-3, 3];
  const table = new DataTable<Ability>({
    testId: "leaderboard",
    pageSize: 50,
    columns: [
      { label: "Rank", cell: (a) => String(a.rank ?? ""), numeric: true, sort: (a, b) => (a.rank ?? 0) - (b.rank ?? 0) },
      { label: "Model", cell: (a) => a.model, sort: (a, b) => a.model.localeCompare(b.model) },
      { label: "Ability θ", cell: (a) => fixed(a.theta?.[0]), numeric: true, sort: (a, b) => (a.theta?.[0] ?? 0) - (b.theta?.[0] ?? 0) },
      { label: "SE", cell: (a) => fixed(a.se?.[0]), numeric: true, sort: (a, b) => (a.se?.[0] ?? 0) - (b.se?.[0] ?? 0) },
      { label: "θ ± 1.96 SE", cell: (a) => errorBar(a, scale[0], scale[1]) },
      { label: "Predicted accuracy", cell: (a) => percent(a.predictedAccuracy), numeric: true, sort: (a, b) => (a.predictedAccuracy ?? 0) - (b.predictedAccuracy ?? 0), title: "The fit's prediction over every item of the benchmark" },
      { label: "Observed accuracy", cell: (a) => percent(a.accuracy), numeric: true, sort: (a, b) => (a.accuracy ?? 0) - (b.accuracy ?? 0) },
      { label: "Items", cell: (a) => count(a.numItems), numeric: true, sort: (a, b) => num(a.numItems) - num(b.numItems) },
      { label: "Flags", cell: (a) => flagBadges(a.flags) },
    ],
    sortColumn: 0,
    searchText: (a) => a.model,
    searchLabel: "Search models (/)",
    emptyText: "No models in this fit.",
  });
  body.append(status, table.element, h("h2", {}, "Ability against observed accuracy"), chartBox);
  let chart: { destroy(): void; highlight(keys: number[]): void } | null = null;
  let stopped = false;
  const path = `${source}/abilities`;
  // First rows at once, then the whole table (for sorting, search and the chart).
  call<{ abilities?: Ability[]; total?: string }>(`${path}?pageSize=50`)
    .then((first) => {
      if (stopped) return;
      const rows = first.abilities ?? [];
      scale = thetaScale(rows);
      table.setRows(rows);
      status.textContent = `Loading all ${count(first.total)} models…`;
      performance.mark("leaderboard-first-rows");
      return callAll<{ abilities?: Ability[]; nextPageToken?: string }, Ability>(path, (p) => p.abilities, 10000);
    })
    .then((all) => {
      if (stopped || !all) return;
      status.remove();
      scale = thetaScale(all);
      table.setRows(all);
      const points = all.map((a, i) => ({ x: a.theta?.[0] ?? NaN, y: a.accuracy ?? NaN, group: a.flags ? 1 : 0, key: i }));
      chart = scatterChart(
        chartBox,
        {
          title: `${all.length.toLocaleString("en-US")} models${fitId ? ` (fit ${fitId})` : ""}`,
          xLabel: "ability θ",
          yLabel: "observed accuracy",
          groups: [
            { label: "models", color: palette[0] },
            { label: "flagged", color: palette[1] },
          ],
          onPick: (i) => {
            table.reveal((a) => a === all[i]);
            chart?.highlight([i]);
          },
        },
        points,
      );
      performance.mark("leaderboard-chart");
    })
    .catch((e) => {
      if (!stopped) status.replaceWith(notice("error", errorText(e)));
    });
  return () => {
    stopped = true;
    chart?.destroy();
  };
}

function thetaScale(rows: Ability[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of rows) {
    const t = a.theta?.[0] ?? 0;
    const s = 1.96 * (a.se?.[0] ?? 0);
    lo = Math.min(lo, t - s);
    hi = Math.max(hi, t + s);
  }
  return Number.isFinite(lo) ? [lo, hi] : [-3, 3];
}

function flagBadges(flags: string | undefined): Node | string {
  if (!flags) return "";
  const span = h("span");
  for (const f of flags.split("|")) span.append(badge(f.replace(/_/g, " "), "warn"), " ");
  return span;
}

// An item's colour: its first flag in this order (the most telling first).
const itemGroups = [
  { flag: "", label: "ok", color: palette[0] },
  { flag: "no_data", label: "no data", color: palette[5] },
  { flag: "never_solved", label: "never solved", color: palette[4] },
  { flag: "always_solved", label: "always solved", color: palette[2] },
  { flag: "low_discrimination", label: "a ≈ 0", color: palette[3] },
  { flag: "misfit", label: "misfit", color: palette[1] },
];

function itemGroup(p: ItemParams): number {
  if (!p.flags) return 0;
  const flags = p.flags.split("|");
  for (let g = 1; g < itemGroups.length; g++) if (flags.includes(itemGroups[g].flag)) return g;
  return 0;
}

// P(correct | θ) of a unidimensional 2PL item: logistic(a·θ + b).
function icc(p: ItemParams, theta: number): number {
  return 1 / (1 + Math.exp(-((p.a?.[0] ?? 0) * theta + (p.b ?? 0))));
}

function items(body: HTMLElement, source: string): Cleanup {
  const status = notice("loading", "Loading item parameters…");
  const scatterBox = h("div", { class: "chart", "data-testid": "item-scatter" });
  const curveBox = h("div", { class: "chart", "data-testid": "item-curves" });
  const curveHint = notice("empty", "Select items (click a point or a row) to draw their characteristic curves.");
  const selected: number[] = [];
  let all: ItemParams[] = [];
  let scatter: { destroy(): void; highlight(keys: number[]): void } | null = null;
  let curves: { destroy(): void } | null = null;
  const drawCurves = () => {
    curves?.destroy();
    clear(curveBox);
    if (selected.length === 0) {
      curveBox.append(curveHint);
      return;
    }
    const xs: number[] = [];
    for (let t = -4; t <= 4.0001; t += 0.05) xs.push(Number(t.toFixed(2)));
    curves = lineChart(
      curveBox,
      {
        title: "Item characteristic curves",
        xLabel: "ability θ",
        yLabel: "P(correct)",
        yRange: [0, 1],
        series: selected.map((i, k) => ({ label: all[i].item, color: palette[k % palette.length], width: 2 })),
      },
      xs,
      selected.map((i) => xs.map((t) => icc(all[i], t))),
    );
    scatter?.highlight(selected);
  };
  const select = (i: number) => {
    const at = selected.indexOf(i);
    if (at >= 0) selected.splice(at, 1);
    else {
      selected.push(i);
      if (selected.length > 6) selected.shift();
    }
    drawCurves();
  };
  const table = new DataTable<ItemParams>({
    testId: "items",
    columns: [
      { label: "Item", cell: (p) => p.item, sort: (a, b) => a.item.localeCompare(b.item) },
      { label: "Difficulty", cell: (p) => fixed(p.difficulty), numeric: true, sort: (a, b) => (a.difficulty ?? 0) - (b.difficulty ?? 0) },
      { label: "Discrimination a", cell: (p) => fixed(p.a?.[0]), numeric: true, sort: (a, b) => (a.a?.[0] ?? 0) - (b.a?.[0] ?? 0) },
      { label: "SE(a)", cell: (p) => fixed(p.seA?.[0]), numeric: true, sort: (a, b) => (a.seA?.[0] ?? 0) - (b.seA?.[0] ?? 0) },
      { label: "P(correct)", cell: (p) => percent(p.pCorrect), numeric: true, sort: (a, b) => (a.pCorrect ?? 0) - (b.pCorrect ?? 0) },
      { label: "Models", cell: (p) => count(p.numModels), numeric: true, sort: (a, b) => num(a.numModels) - num(b.numModels) },
      { label: "Infit", cell: (p) => fixed(p.infit), numeric: true, sort: (a, b) => (a.infit ?? 0) - (b.infit ?? 0) },
      { label: "Outfit", cell: (p) => fixed(p.outfit), numeric: true, sort: (a, b) => (a.outfit ?? 0) - (b.outfit ?? 0) },
      { label: "Flags", cell: (p) => flagBadges(p.flags) },
      { label: "Tags", cell: (p) => (p.tags ?? []).join(", ") },
    ],
    searchText: (p) => `${p.item} ${p.flags ?? ""} ${(p.tags ?? []).join(" ")}`,
    searchLabel: "Search items, flags, tags (/)",
    onSelect: (p) => select(all.indexOf(p)),
  });
  body.append(status, h("div", { class: "two-charts" }, scatterBox, curveBox), table.element);
  let stopped = false;
  callAll<{ items?: ItemParams[]; nextPageToken?: string }, ItemParams>(`${source}/itemParams`, (p) => p.items, 10000)
    .then((rows) => {
      if (stopped) return;
      all = rows;
      status.remove();
      table.setRows(rows);
      scatter = scatterChart(
        scatterBox,
        {
          title: `${rows.length.toLocaleString("en-US")} items`,
          xLabel: "difficulty (−b)",
          yLabel: "discrimination a",
          groups: itemGroups,
          onPick: (i) => {
            table.reveal((p) => p === all[i]);
            select(i);
          },
        },
        rows.map((p, i) => ({ x: p.difficulty ?? NaN, y: p.a?.[0] ?? NaN, group: itemGroup(p), key: i })),
      );
      drawCurves();
    })
    .catch((e) => {
      if (!stopped) status.replaceWith(notice("error", errorText(e)));
    });
  return () => {
    stopped = true;
    scatter?.destroy();
    curves?.destroy();
  };
}

function fits(body: HTMLElement, b: Benchmark): Cleanup {
  const status = notice("loading", "Loading fit versions…");
  const progress = h("div", { "data-testid": "fit-progress" });
  const base = `#/benchmarks/${encodeURIComponent(b.id)}`;
  const table = new DataTable<Fit>({
    testId: "fits",
    columns: [
      { label: "Version", cell: (f) => String(num(f.version)), numeric: true, sort: (x, y) => num(x.version) - num(y.version) },
      { label: "Fit", cell: (f) => h("a", { href: `${base}/leaderboard?fit=${encodeURIComponent(f.id)}` }, f.id) },
      { label: "State", cell: (f) => badge(enumWord(f.state, "FIT_STATE_"), f.state === "FIT_STATE_FAILED" ? "bad" : f.state === "FIT_STATE_SUCCEEDED" ? "good" : "muted") },
      { label: "Current", cell: (f) => (f.current ? badge("current", "good") : "") },
      { label: "Method", cell: (f) => h("span", { title: f.methodReason ?? "" }, enumWord(f.method, "FIT_METHOD_")) },
      { label: "Iterations", cell: (f) => String(f.iteration ?? 0), numeric: true },
      { label: "Loss", cell: (f) => fixed(f.loss, 4), numeric: true },
      { label: "Seconds", cell: (f) => fixed(f.seconds, 2), numeric: true },
      { label: "Cells", cell: (f) => count(f.numCells), numeric: true },
      { label: "Stop", cell: (f) => f.error || f.stopReason || "" },
      { label: "Created", cell: (f) => when(f.createdAt) },
    ],
    sortColumn: 0,
    descending: true,
    emptyText: "No fits yet.",
  });
  body.append(status, table.element, progress);
  const stops: (() => void)[] = [];
  callAll<{ fits?: Fit[]; nextPageToken?: string }, Fit>(`/v1/benchmarks/${encodeURIComponent(b.id)}/fits`, (p) => p.fits, 100)
    .then((rows) => {
      status.remove();
      table.setRows(rows);
      // Live progress of the running (or queued) fits: iteration and loss as they arrive.
      for (const f of rows.filter((r) => r.state === "FIT_STATE_RUNNING" || r.state === "FIT_STATE_QUEUED")) {
        const its: number[] = [];
        const losses: number[] = [];
        const box = h("div", { class: "chart" });
        let chart: Chart | null = null;
        progress.append(h("h2", {}, `Fit ${f.id} in progress`), box);
        const stream = watch<Fit>(`/v1/fits/${encodeURIComponent(f.id)}/events`, (u) => {
            Object.assign(f, u);
            table.setRows(rows);
            if (u.iteration && u.loss !== undefined && (its.length === 0 || u.iteration > its[its.length - 1])) {
              its.push(u.iteration);
              losses.push(u.loss);
              if (!chart) chart = lineChart(box, { title: "Loss by iteration", xLabel: "iteration", yLabel: "loss", series: [{ label: "loss", color: palette[0] }] }, its, [losses]);
              else chart.update(its, [losses]);
            }
          });
        stops.push(() => {
          stream.close();
          chart?.destroy();
        });
      }
    })
    .catch((e) => {
      status.replaceWith(notice("error", errorText(e)));
      table.element.remove();
    });
  return () => stops.forEach((stop) => stop());
}
