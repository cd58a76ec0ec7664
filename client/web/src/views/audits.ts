// Audits: the team's list, and one audit's e-processes, confidence sequence, decision and
// subgroups, live: the history from ListAuditSteps, then every step from the audit's event stream.
import { call, callAll, errorText, watch } from "../api";
import { lineChart, palette, type Chart } from "../charts";
import { badge, count, enumWord, evalue, fixed, h, notice, num, percent, when } from "../dom";
import type { Cleanup } from "../main";
import { DataTable } from "../table";
import { detailHeader, listPage } from "./page";
import type { Audit, AuditStep, AuditUpdate, Subgroup } from "../types";

export function decisionBadge(decision: string | undefined): HTMLElement {
  const word = enumWord(decision, "DECISION_", "running");
  const kind = decision === "DECISION_FAILURE_MODE_FOUND" ? "bad" : decision === "DECISION_CERTIFIED" ? "good" : decision === "DECISION_INCONCLUSIVE" ? "warn" : "muted";
  return badge(word === "none" ? "running" : word, kind);
}

export function auditsView(main: HTMLElement): void {
  listPage<Audit>(
    main,
    "Audits",
    {
      testId: "audits",
      columns: [
        { label: "Audit", cell: (a) => h("a", { href: `#/audits/${encodeURIComponent(a.id)}` }, a.displayName || a.id) },
        { label: "Decision", cell: (a) => decisionBadge(a.decision), sort: (x, y) => (x.decision ?? "").localeCompare(y.decision ?? "") },
        { label: "Tested", cell: (a) => count(a.tested), numeric: true, sort: (x, y) => num(x.tested) - num(y.tested) },
        { label: "Outstanding", cell: (a) => count(a.outstanding), numeric: true },
        { label: "e (failure)", cell: (a) => evalue(a.eModel), numeric: true, title: "Evidence that accuracy is below τ" },
        { label: "e (certify)", cell: (a) => evalue(a.eAuditor), numeric: true, title: "Evidence that accuracy is above τ" },
        { label: "Accuracy CS", cell: (a) => `[${percent(a.accuracyLower)}, ${percent(a.accuracyUpper)}]` },
        { label: "τ", cell: (a) => fixed(a.config?.tau), numeric: true },
        { label: "Created", cell: (a) => when(a.createdAt), sort: (x, y) => num(x.createdAt) - num(y.createdAt) },
      ],
      searchText: (a) => `${a.displayName ?? ""} ${a.id}`,
      searchLabel: "Search audits",
      emptyText: "No audits yet: assay audits create, or POST /v1/audits.",
      onSelect: (a) => (location.hash = `#/audits/${encodeURIComponent(a.id)}`),
    },
    () => callAll<{ audits?: Audit[]; nextPageToken?: string }, Audit>("/v1/audits", (p) => p.audits, 1000),
  );
}

export function auditView(main: HTMLElement, [id]: string[]): Cleanup {
  const path = `/v1/audits/${encodeURIComponent(id)}`;
  const { title, summary, onState, onError } = detailHeader(main, ["#/audits", "Audits"], id, "decided: stream ended");
  const eBox = h("div", { class: "chart", "data-testid": "audit-evalues" });
  const csBox = h("div", { class: "chart", "data-testid": "audit-cs" });
  const status = notice("loading", "Loading the audit's history…");
  const subgroups = new DataTable<Subgroup>({
    testId: "subgroups",
    columns: [
      { label: "Subgroup", cell: (s) => s.name, sort: (a, b) => a.name.localeCompare(b.name) },
      { label: "Tested", cell: (s) => count(s.tested), numeric: true, sort: (a, b) => num(a.tested) - num(b.tested) },
      { label: "e-value", cell: (s) => evalue(s.eValue), numeric: true, sort: (a, b) => (a.eValue ?? 0) - (b.eValue ?? 0) },
      { label: "Accuracy CS", cell: (s) => `[${percent(s.accuracyLower)}, ${percent(s.accuracyUpper)}]` },
      { label: "e-BH at α", cell: (s) => (s.failing ? badge("failing", "bad") : badge("not rejected", "muted")), sort: (a, b) => Number(a.failing ?? false) - Number(b.failing ?? false) },
    ],
    sortColumn: 2,
    descending: true,
    emptyText: "No subgroups: hand out cases with a subgroup to test each one (e-BH controls the false discovery rate).",
  });
  main.append(
    status,
    h("div", { class: "two-charts" }, eBox, csBox),
    h("h2", {}, "Subgroups"),
    subgroups.element,
  );

  const steps: AuditStep[] = [];
  let audit: Audit | null = null;
  let eChart: Chart | null = null;
  let csChart: Chart | null = null;
  let stream: { close(): void } | null = null;
  let stopped = false;

  const draw = () => {
    if (!audit) return;
    const a = audit;
    const alpha = a.config?.alpha ?? 0.05;
    const tau = a.config?.tau ?? 0.85;
    title.textContent = a.displayName || a.id;
    summary.replaceChildren(
      h("span", {}, "Decision ", decisionBadge(a.decision), num(a.decisionTime) ? ` at label ${num(a.decisionTime)}` : ""),
      h("span", {}, `tested ${count(a.tested)} · outstanding ${count(a.outstanding)}`),
      h("span", {}, `τ = ${fixed(tau)} · α = ${alpha} · ${enumWord(a.config?.method, "AUDIT_METHOD_")}`),
      h("span", {}, `e: failure ${evalue(a.eModel)} · certify ${evalue(a.eAuditor)} (threshold ${evalue(1 / alpha)})`),
      h("span", {}, `accuracy in [${percent(a.accuracyLower)}, ${percent(a.accuracyUpper)}]`),
    );
    subgroups.setRows(a.subgroups ?? []);
    const ts = steps.map((s) => num(s.t));
    const decidedAt = num(a.decisionTime);
    const marker = (v: (s: AuditStep) => number) => steps.map((s) => (num(s.t) === decidedAt ? v(s) : null));
    const eModel = steps.map((s) => Math.max(s.eModel ?? 1, 1e-6));
    const eAuditor = steps.map((s) => Math.max(s.eAuditor ?? 1, 1e-6));
    const eData = [eModel, eAuditor, steps.map(() => 1 / alpha), marker((s) => Math.max(s.decision === "DECISION_CERTIFIED" ? (s.eAuditor ?? 1) : (s.eModel ?? 1), 1e-6))];
    if (!eChart) {
      eChart = lineChart(
        eBox,
        {
          title: "e-processes (log scale)",
          xLabel: "labels tested",
          yLabel: "e-value",
          yLog: true,
          series: [
            { label: "failure mode (accuracy < τ)", color: palette[1] },
            { label: "certify (accuracy > τ)", color: palette[2] },
            { label: "1/α", color: "#444", dash: [6, 4] },
            { label: "decision", color: "#111", markers: true },
          ],
        },
        ts,
        eData,
      );
    } else eChart.update(ts, eData);
    const csData = [steps.map((s) => s.accuracyUpper ?? 1), steps.map((s) => s.accuracyLower ?? 0), steps.map(() => tau), marker((s) => s.accuracyLower ?? 0)];
    if (!csChart) {
      csChart = lineChart(
        csBox,
        {
          title: `Accuracy: ${Math.round(100 * (1 - alpha))}% confidence sequence`,
          xLabel: "labels tested",
          yLabel: "accuracy",
          yRange: [0, 1],
          bands: [[0, 1]],
          series: [
            { label: "upper", color: palette[0] },
            { label: "lower", color: palette[0] },
            { label: "τ", color: "#444", dash: [6, 4] },
            { label: "decision", color: "#111", markers: true },
          ],
        },
        ts,
        csData,
      );
    } else csChart.update(ts, csData);
  };

  const lastT = () => (steps.length ? num(steps[steps.length - 1].t) : 0);
  let filling = false;
  const fillGap = async () => {
    if (filling) return;
    filling = true;
    try {
      const more = await callAll<{ steps?: AuditStep[]; nextPageToken?: string }, AuditStep>(`${path}/steps`, (p) => p.steps, 10000, lastT() > 0 ? String(lastT()) : "");
      for (const s of more) if (num(s.t) > lastT()) steps.push(s);
      draw();
    } finally {
      filling = false;
    }
  };

  const load = async () => {
    steps.length = 0;
    let revision = "";
    // The history first (every step from the first), then the stream from that revision on.
    const history = await callAll<{ steps?: AuditStep[]; nextPageToken?: string; revision?: string }, AuditStep>(`${path}/steps`, (p) => {
      revision = String(p.revision ?? 0);
      return p.steps;
    }, 10000);
    if (stopped) return;
    steps.push(...history);
    audit = await call<Audit>(path);
    if (stopped) return;
    status.remove();
    draw();
    if (num(audit.tested) > lastT()) void fillGap();
    stream = watch<AuditUpdate>(
      `${path}/events`,
      (u) => {
        audit = u.audit;
        for (const s of u.steps ?? []) {
          if (num(s.t) > lastT()) steps.push(s);
        }
        // A state without the steps before it (the server no longer held them): fetch the gap.
        if (num(u.audit.tested) > lastT()) void fillGap();
        draw();
      },
      onState,
      onError,
      revision,
    );
  };
  load().catch((e) => status.replaceWith(notice("error", errorText(e))));
  return () => {
    stopped = true;
    stream?.close();
    eChart?.destroy();
    csChart?.destroy();
  };
}
