// The two page shapes every resource shares: a list (title, loading state, a table that fills or
// gives way to the error) and a detail page's header (crumb, title, live-stream state, summary).
import { errorText, type ApiError } from "../api";
import { h, notice } from "../dom";
import { DataTable, type TableOptions } from "../table";

export function listPage<R>(main: HTMLElement, title: string, options: TableOptions<R>, rows: () => Promise<R[]>): DataTable<R> {
  const status = notice("loading", `Loading ${title.toLowerCase()}…`);
  const table = new DataTable<R>(options);
  main.append(h("h1", {}, title), status, table.element);
  table.fill(rows(), status, errorText);
  return table;
}

export interface DetailHeader {
  title: HTMLElement;
  summary: HTMLElement;
  // For watch(): the stream's state and errors, shown beside the title.
  onState: (state: "live" | "reconnecting" | "ended") => void;
  onError: (e: ApiError) => void;
}

// `ended` is what the badge says once the server has sent the final state ("decided", "finished").
export function detailHeader(main: HTMLElement, crumb: [string, string], id: string, ended: string): DetailHeader {
  const title = h("h1", {}, id);
  const live = h("span", { class: "live", "data-testid": "live-state" }, "connecting…");
  const summary = h("div", { class: "summary", "data-testid": "summary" });
  main.append(h("p", { class: "crumbs" }, h("a", { href: crumb[0] }, crumb[1]), " / "), h("div", { class: "title-row" }, title, live), summary);
  return {
    title,
    summary,
    onState(state) {
      live.textContent = state === "live" ? "● live" : state === "ended" ? ended : "reconnecting…";
      live.className = `live live-${state}`;
    },
    onError(e) {
      live.textContent = `stream error: ${e.message}`;
      live.className = "live live-error";
    },
  };
}
