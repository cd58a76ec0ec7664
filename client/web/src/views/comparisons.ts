// Comparisons: the team's list, and one comparison's confidence sequence for the difference
// Δ = acc(B) − acc(A) narrowing towards a decision, with the tolerance band, live.
import { call, callAll, errorText, watch } from "../api";
import { lineChart, palette, type Chart } from "../charts";
import { badge, count, enumWord, h, notice, num, when } from "../dom";
import type { Cleanup } from "../main";
import { detailHeader, listPage } from "./page";
import type { Comparison } from "../types";

function points(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "–" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)} pt`;
}

function decisionBadge(c: Comparison): HTMLElement {
  const d = c.decision ?? "COMPARE_DECISION_UNDECIDED";
  const kind = d === "COMPARE_DECISION_REGRESSION" ? "bad" : d === "COMPARE_DECISION_PASS" || d === "COMPARE_DECISION_BETTER" ? "good" : d === "COMPARE_DECISION_INCONCLUSIVE" ? "warn" : "muted";
  return badge(enumWord(d, "COMPARE_DECISION_").replace("undecided", "running"), kind);
}

export function comparisonsView(main: HTMLElement): void {
  listPage<Comparison>(
    main,
    "Comparisons",
    {
      testId: "comparisons",
      columns: [
        { label: "Comparison", cell: (c) => h("a", { href: `#/comparisons/${encodeURIComponent(c.id)}` }, c.id) },
        { label: "Baseline A", cell: (c) => c.modelA ?? "" },
        { label: "Candidate B", cell: (c) => c.modelB ?? "" },
        { label: "Decision", cell: decisionBadge },
        { label: "Items", cell: (c) => `${count(c.items)} / ${count(c.benchmarkItems)}`, numeric: true, sort: (a, b) => num(a.items) - num(b.items) },
        { label: "Δ (B − A)", cell: (c) => points(c.estimate), numeric: true, sort: (a, b) => (a.estimate ?? 0) - (b.estimate ?? 0) },
        { label: "Confidence sequence", cell: (c) => `[${points(c.lower)}, ${points(c.upper)}]` },
        { label: "Created", cell: (c) => when(c.createdAt), sort: (a, b) => num(a.createdAt) - num(b.createdAt) },
      ],
      searchText: (c) => `${c.modelA ?? ""} ${c.modelB ?? ""} ${c.id}`,
      searchLabel: "Search comparisons",
      emptyText: "No comparisons yet: assay compare create, or POST /v1/comparisons.",
      onSelect: (c) => (location.hash = `#/comparisons/${encodeURIComponent(c.id)}`),
    },
    () => callAll<{ comparisons?: Comparison[]; nextPageToken?: string }, Comparison>("/v1/comparisons?view=COMPARISON_VIEW_BASIC", (p) => p.comparisons, 1000),
  );
}

export function comparisonView(main: HTMLElement, [id]: string[]): Cleanup {
  const path = `/v1/comparisons/${encodeURIComponent(id)}`;
  const { title, summary, onState, onError } = detailHeader(main, ["#/comparisons", "Comparisons"], id, "finished");
  const box = h("div", { class: "chart", "data-testid": "comparison-cs" });
  main.append(box);
  let chart: Chart | null = null;
  let stream: { close(): void } | null = null;
  const show = (c: Comparison) => {
    const delta = c.options?.delta ?? 0.01;
    const alpha = c.options?.alpha ?? 0.05;
    title.textContent = `${c.modelB} against ${c.modelA}`;
    summary.replaceChildren(
      h("span", {}, "Decision ", decisionBadge(c)),
      h("span", {}, `Δ = ${points(c.estimate)}, ${Math.round(100 * (1 - alpha))}% confidence sequence [${points(c.lower)}, ${points(c.upper)}]${c.exact ? " (exact: every item answered)" : ""}`),
      h("span", {}, `${count(c.items)} of ${count(c.benchmarkItems)} items · tolerance δ = ${(100 * delta).toFixed(1)} pt · ${c.options?.baselineKnown ? "baseline known" : "both sampled"} · ${enumWord(c.options?.design, "COMPARE_DESIGN_", "uniform")} draws`),
    );
    const steps = c.steps ?? [];
    const xs = steps.map((_, i) => i + 1);
    const data = [steps.map((s) => s.upper ?? 1), steps.map((s) => s.lower ?? -1), steps.map((s) => s.estimate ?? 0), xs.map(() => -delta), xs.map(() => 0)];
    if (!chart) {
      chart = lineChart(
        box,
        {
          title: "Δ = accuracy(B) − accuracy(A): estimate and confidence sequence",
          xLabel: "items",
          yLabel: "Δ",
          bands: [[0, 1]],
          height: 320,
          series: [
            { label: "upper", color: palette[0], width: 0.5 },
            { label: "lower", color: palette[0], width: 0.5 },
            { label: "estimate", color: palette[0], width: 2 },
            { label: "−δ (regression below)", color: palette[1], dash: [6, 4] },
            { label: "0", color: "#444", dash: [2, 3] },
          ],
        },
        xs,
        data,
      );
    } else chart.update(xs, data);
  };
  call<Comparison>(path)
    .then((c) => {
      show(c);
      // Each update is the whole comparison (FULL view): no history to stitch.
      stream = watch<Comparison>(
        `${path}/events`,
        show,
        onState,
        onError,
        String(num(c.revision)),
      );
    })
    .catch((e) => summary.replaceWith(notice("error", errorText(e))));
  return () => {
    stream?.close();
    chart?.destroy();
  };
}
