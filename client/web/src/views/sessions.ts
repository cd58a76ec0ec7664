// Adaptive tests: the team's sessions, and one session's ability estimate ± SE and predicted
// accuracy with its anytime-valid band against items administered, live.
import { call, callAll, errorText, watch } from "../api";
import { lineChart, palette, type Chart } from "../charts";
import { badge, count, fixed, h, notice, num, percent, when } from "../dom";
import type { Cleanup } from "../main";
import { detailHeader, listPage } from "./page";
import type { CatSession, SessionStep } from "../types";

function stateBadge(s: CatSession): HTMLElement {
  return s.finished ? badge(`finished: ${(s.stopReason ?? "").replace(/_/g, " ")}`, "good") : badge("running", "muted");
}

export function sessionsView(main: HTMLElement): void {
  listPage<CatSession>(
    main,
    "Adaptive tests",
    {
      testId: "sessions",
      columns: [
        { label: "Session", cell: (s) => h("a", { href: `#/sessions/${encodeURIComponent(s.id)}` }, s.id) },
        { label: "Model", cell: (s) => s.model ?? "", sort: (a, b) => (a.model ?? "").localeCompare(b.model ?? "") },
        { label: "State", cell: stateBadge },
        { label: "Items", cell: (s) => count(s.answered), numeric: true, sort: (a, b) => num(a.answered) - num(b.answered) },
        { label: "θ ± SE", cell: (s) => `${fixed(s.theta)} ± ${fixed(s.se)}`, numeric: true, sort: (a, b) => (a.theta ?? 0) - (b.theta ?? 0) },
        { label: "Predicted accuracy", cell: (s) => percent(s.predictedAccuracy), numeric: true, sort: (a, b) => (a.predictedAccuracy ?? 0) - (b.predictedAccuracy ?? 0) },
        { label: "Anytime-valid band", cell: (s) => `[${percent(s.csLower)}, ${percent(s.csUpper)}]` },
        { label: "Benchmark", cell: (s) => h("a", { href: `#/benchmarks/${encodeURIComponent(s.benchmarkId)}` }, s.benchmarkId) },
        { label: "Started", cell: (s) => when(s.createdAt), sort: (a, b) => num(a.createdAt) - num(b.createdAt) },
      ],
      searchText: (s) => `${s.model ?? ""} ${s.id}`,
      searchLabel: "Search sessions",
      emptyText: "No adaptive tests yet: assay sessions start, or POST /v1/sessions.",
      onSelect: (s) => (location.hash = `#/sessions/${encodeURIComponent(s.id)}`),
    },
    () => callAll<{ sessions?: CatSession[]; nextPageToken?: string }, CatSession>("/v1/sessions?view=CAT_SESSION_VIEW_BASIC", (p) => p.sessions, 1000),
  );
}

export function sessionView(main: HTMLElement, [id]: string[]): Cleanup {
  const path = `/v1/sessions/${encodeURIComponent(id)}`;
  const { title, summary, onState, onError } = detailHeader(main, ["#/sessions", "Adaptive tests"], id, "finished");
  const thetaBox = h("div", { class: "chart", "data-testid": "session-theta" });
  const accBox = h("div", { class: "chart", "data-testid": "session-accuracy" });
  const status = notice("loading", "Loading the session's trajectory…");
  main.append(status, h("div", { class: "two-charts" }, thetaBox, accBox));
  let steps: SessionStep[] = [];
  let thetaChart: Chart | null = null;
  let accChart: Chart | null = null;
  let stream: { close(): void } | null = null;
  let stopped = false;

  const draw = (s: CatSession) => {
    title.textContent = `${s.model ?? ""} · ${s.id}`;
    // The anytime-valid band when the session keeps one (anytime mode), else the nominal interval,
    // named as such: a nominal interval is not valid at a data-dependent stopping time.
    const anytime = s.options?.anytimeValid === true;
    summary.replaceChildren(
      h("span", {}, stateBadge(s)),
      h("span", {}, `${count(s.answered)} items · θ = ${fixed(s.theta)} ± ${fixed(s.se)}`),
      h("span", {}, `predicted accuracy ${percent(s.predictedAccuracy)}`, anytime ? `, anytime-valid [${percent(s.csLower)}, ${percent(s.csUpper)}]` : "", `, nominal [${percent(s.lower)}, ${percent(s.upper)}]`),
      ...(anytime ? [] : [h("span", { class: "muted" }, "not in anytime-valid mode (options.anytimeValid)")]),
    );
    const xs = steps.map((p) => num(p.answered));
    const thetaData = [steps.map((p) => (p.theta ?? 0) + (p.se ?? 0)), steps.map((p) => (p.theta ?? 0) - (p.se ?? 0)), steps.map((p) => p.theta ?? 0)];
    const accData = anytime
      ? [steps.map((p) => p.csUpper ?? 0), steps.map((p) => p.csLower ?? 0), steps.map((p) => p.predictedAccuracy ?? 0)]
      : [steps.map((p) => p.upper ?? 0), steps.map((p) => p.lower ?? 0), steps.map((p) => p.predictedAccuracy ?? 0)];
    if (!thetaChart) {
      thetaChart = lineChart(thetaBox, { title: "Ability θ ± SE", xLabel: "items administered", yLabel: "θ", bands: [[0, 1]], series: [{ label: "θ + SE", color: palette[0], width: 0.5 }, { label: "θ − SE", color: palette[0], width: 0.5 }, { label: "θ", color: palette[0], width: 2 }] }, xs, thetaData);
      accChart = lineChart(accBox, { title: anytime ? "Predicted accuracy and its anytime-valid band" : "Predicted accuracy and its nominal interval", xLabel: "items administered", yLabel: "accuracy", yRange: [0, 1], bands: [[0, 1]], series: [{ label: "upper", color: palette[2], width: 0.5 }, { label: "lower", color: palette[2], width: 0.5 }, { label: "predicted accuracy", color: palette[2], width: 2 }] }, xs, accData);
    } else {
      thetaChart.update(xs, thetaData);
      accChart!.update(xs, accData);
    }
  };

  const reload = async () => {
    const t = await call<{ steps?: SessionStep[]; revision?: string }>(`${path}/steps`);
    steps = t.steps ?? [];
    return String(t.revision ?? 0);
  };
  // A state: one more point when it added one outcome (a step that only hands out items adds
  // none); when it added several, or the trajectory has a gap, the trajectory is read again.
  const advance = (s: CatSession) => {
    const last = steps.length ? num(steps[steps.length - 1].answered) : 0;
    if (num(s.answered) === last + 1) {
      steps.push({ answered: s.answered, theta: s.theta, se: s.se, predictedAccuracy: s.predictedAccuracy, lower: s.lower, upper: s.upper, csLower: s.csLower, csUpper: s.csUpper });
    } else if (num(s.answered) > last) {
      void reload().then(() => draw(s));
    }
    draw(s);
  };
  const start = async () => {
    const revision = await reload();
    const now = await call<CatSession>(path);
    return { revision, now };
  };
  start()
    .then(({ revision, now }) => {
      if (stopped) return;
      status.remove();
      advance(now);
      stream = watch<CatSession>(
        `${path}/events`,
        advance,
        onState,
        onError,
        revision,
      );
    })
    .catch((e) => status.replaceWith(notice("error", errorText(e))));
  return () => {
    stopped = true;
    stream?.close();
    thetaChart?.destroy();
    accChart?.destroy();
  };
}
