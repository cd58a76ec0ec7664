// Monitors: the team's list, and one monitor's detector statistic, recent accuracy and alarms, live
// from its event stream. The server keeps a monitor's state, not each score's history, so the chart
// starts when the page opens; counts and the last alarm cover everything before.
import { call, callAll, errorText, watch } from "../api";
import { lineChart, palette, type Chart } from "../charts";
import { badge, count, evalue, fixed, h, notice, num, percent, when } from "../dom";
import type { Cleanup } from "../main";
import { detailHeader, listPage } from "./page";
import type { Monitor, MonitorUpdate } from "../types";

export function monitorsView(main: HTMLElement): void {
  listPage<Monitor>(
    main,
    "Monitors",
    {
      testId: "monitors",
      columns: [
        { label: "Monitor", cell: (m) => h("a", { href: `#/monitors/${encodeURIComponent(m.id)}` }, m.displayName || m.id) },
        { label: "Scores", cell: (m) => count(m.t), numeric: true, sort: (a, b) => num(a.t) - num(b.t) },
        { label: "Alarms", cell: (m) => (num(m.alarms) > 0 ? badge(`${count(m.alarms)} (last at ${count(m.lastAlarmT)})`, "bad") : badge("none", "good")), sort: (a, b) => num(a.alarms) - num(b.alarms) },
        { label: "Detector", cell: (m) => evalue(m.eValue), numeric: true, sort: (a, b) => (a.eValue ?? 0) - (b.eValue ?? 0) },
        { label: "Recent accuracy", cell: (m) => percent(m.recentAccuracy), numeric: true },
        { label: "τ", cell: (m) => fixed(m.config?.tau), numeric: true },
        { label: "Created", cell: (m) => when(m.createdAt), sort: (a, b) => num(a.createdAt) - num(b.createdAt) },
      ],
      searchText: (m) => `${m.displayName ?? ""} ${m.id}`,
      searchLabel: "Search monitors",
      emptyText: "No monitors yet: assay monitors create, or POST /v1/monitors.",
      onSelect: (m) => (location.hash = `#/monitors/${encodeURIComponent(m.id)}`),
    },
    () => callAll<{ monitors?: Monitor[]; nextPageToken?: string }, Monitor>("/v1/monitors", (p) => p.monitors, 1000),
  );
}

export function monitorView(main: HTMLElement, [id]: string[]): Cleanup {
  const path = `/v1/monitors/${encodeURIComponent(id)}`;
  const { title, summary, onState, onError } = detailHeader(main, ["#/monitors", "Monitors"], id, "ended");
  const box = h("div", { class: "chart", "data-testid": "monitor-chart" });
  const accBox = h("div", { class: "chart" });
  main.append(h("div", { class: "two-charts" }, box, accBox), h("p", { class: "muted small" }, "The charts follow the monitor from when this page opened; the counts cover its whole life."));
  const ts: number[] = [];
  const stat: number[] = [];
  const acc: number[] = [];
  const alarms: (number | null)[] = [];
  let chart: Chart | null = null;
  let accChart: Chart | null = null;
  let stream: { close(): void } | null = null;
  const show = (m: Monitor, alarmTs: number[]) => {
    const alpha = m.config?.alpha ?? 0.001;
    title.textContent = m.displayName || m.id;
    summary.replaceChildren(
      h("span", {}, `${count(m.t)} scores`),
      h("span", {}, num(m.alarms) > 0 ? badge(`${count(m.alarms)} alarms, last at score ${count(m.lastAlarmT)}`, "bad") : badge("no alarm", "good")),
      h("span", {}, `detector ${evalue(m.eValue)} (alarm at ${evalue(1 / alpha)}) · recent accuracy ${percent(m.recentAccuracy)} · τ = ${fixed(m.config?.tau)}`),
    );
    const t = num(m.t);
    if (ts.length === 0 || t > ts[ts.length - 1]) {
      ts.push(t);
      stat.push(Math.max(m.eValue ?? 1, 1e-6));
      acc.push(m.recentAccuracy ?? 0);
      alarms.push(alarmTs.length > 0 ? Math.max(m.eValue ?? 1, 1e-6) : null);
    }
    const threshold = ts.map(() => 1 / alpha);
    const tau = ts.map(() => m.config?.tau ?? 0.85);
    if (!chart) {
      chart = lineChart(box, { title: "Detector statistic (log scale)", xLabel: "scores", yLabel: "statistic", yLog: true, series: [{ label: m.config?.cusum ? "CUSUM e-detector" : "Shiryaev–Roberts e-detector", color: palette[1] }, { label: "alarm threshold 1/α", color: "#444", dash: [6, 4] }, { label: "alarm", color: "#c92a2a", markers: true }] }, ts, [stat, threshold, alarms]);
      accChart = lineChart(accBox, { title: "Recent accuracy", xLabel: "scores", yLabel: "accuracy", yRange: [0, 1], series: [{ label: "recent accuracy", color: palette[0] }, { label: "τ", color: "#444", dash: [6, 4] }] }, ts, [acc, tau]);
    } else {
      chart.update(ts, [stat, threshold, alarms]);
      accChart!.update(ts, [acc, tau]);
    }
  };
  call<Monitor>(path)
    .then((m) => {
      show(m, []);
      stream = watch<MonitorUpdate>(
        `${path}/events`,
        (u) => show(u.monitor, (u.alarmTs ?? []).map(num)),
        onState,
        onError,
        String(num(m.t)),
      );
    })
    .catch((e) => summary.replaceWith(notice("error", errorText(e))));
  return () => {
    stream?.close();
    chart?.destroy();
    accChart?.destroy();
  };
}
