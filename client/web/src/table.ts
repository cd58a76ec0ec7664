// A table that holds any number of rows and draws one page of them: search, sort by any column
// (click a header, or Enter on it), paging ([ and ] keys, or the buttons), row selection (click,
// or Enter on a focused row). Only the visible page is in the DOM, so 5,000 or 50,000 rows cost
// the same to draw.
import { clear, h, notice } from "./dom";

export interface Column<R> {
  label: string;
  cell: (row: R) => Node | string;
  // Ascending comparison; columns without one are not sortable.
  sort?: (a: R, b: R) => number;
  numeric?: boolean;
  title?: string;
}

export interface TableOptions<R> {
  columns: Column<R>[];
  pageSize?: number;
  // What the search box matches (case-insensitive substring); no search box without it.
  searchText?: (row: R) => string;
  searchLabel?: string;
  onSelect?: (row: R) => void;
  // The column sorted first, and whether descending.
  sortColumn?: number;
  descending?: boolean;
  emptyText?: string;
  testId?: string;
}

export class DataTable<R> {
  readonly element: HTMLElement;
  private rows: R[] = [];
  private loaded = false; // setRows has been called: an empty table is empty, not loading
  private view: R[] = [];
  private page = 0;
  private query = "";
  private sortColumn: number | null;
  private descending: boolean;
  private selected: R | null = null;
  private readonly body: HTMLTableSectionElement;
  private readonly head: HTMLTableRowElement;
  private readonly status: HTMLElement;
  private readonly pageSize: number;
  private readonly search: HTMLInputElement | null;

  constructor(private readonly options: TableOptions<R>) {
    this.pageSize = options.pageSize ?? 50;
    this.sortColumn = options.sortColumn ?? null;
    this.descending = options.descending ?? false;
    this.head = h("tr");
    this.body = h("tbody");
    this.status = h("span", { class: "table-status", "aria-live": "polite" });
    this.search = options.searchText
      ? h("input", {
          type: "search",
          class: "table-search",
          placeholder: options.searchLabel ?? "Search",
          "aria-label": options.searchLabel ?? "Search",
          oninput: () => {
            this.query = this.search!.value.trim().toLowerCase();
            this.page = 0;
            this.refresh();
          },
        })
      : null;
    const prev = h("button", { type: "button", class: "page-prev", title: "Previous page ([)", onclick: () => this.turn(-1) }, "‹ Prev");
    const next = h("button", { type: "button", class: "page-next", title: "Next page (])", onclick: () => this.turn(1) }, "Next ›");
    this.element = h(
      "div",
      {
        class: "data-table",
        "data-testid": options.testId,
        onkeydown: ((e: KeyboardEvent) => this.onKey(e)) as EventListener,
      },
      h("div", { class: "table-tools" }, this.search, h("span", { class: "spacer" }), this.status, prev, next),
      h("div", { class: "table-scroll" }, h("table", {}, h("thead", {}, this.head), this.body)),
    );
    this.drawHead();
    this.refresh();
  }

  setRows(rows: R[]): void {
    this.rows = rows;
    this.loaded = true;
    this.refresh();
  }

  // Shows the page holding the first row that `match` accepts, and selects it.
  reveal(match: (row: R) => boolean): void {
    let index = this.view.findIndex(match);
    if (index < 0 && (this.query !== "")) {
      this.query = "";
      if (this.search) this.search.value = "";
      this.refresh();
      index = this.view.findIndex(match);
    }
    if (index < 0) return;
    this.page = Math.floor(index / this.pageSize);
    this.selected = this.view[index];
    this.drawBody();
    const tr = this.body.querySelector("tr.selected") as HTMLElement | null;
    tr?.scrollIntoView({ block: "nearest" });
    tr?.focus();
  }

  // Shows `rows` once they arrive, replacing `status` (a loading notice); on failure the table
  // gives way to the error.
  fill(rows: Promise<R[]>, status: HTMLElement, errorText: (e: unknown) => string): void {
    rows
      .then((r) => {
        status.remove();
        this.setRows(r);
      })
      .catch((e) => {
        status.replaceWith(notice("error", errorText(e)));
        this.element.remove();
      });
  }

  focusSearch(): void {
    this.search?.focus();
  }

  private turn(delta: number): void {
    const pages = Math.max(1, Math.ceil(this.view.length / this.pageSize));
    this.page = Math.min(pages - 1, Math.max(0, this.page + delta));
    this.drawBody();
  }

  private onKey(e: KeyboardEvent): void {
    if (e.target instanceof HTMLInputElement) return;
    if (e.key === "]") this.turn(1);
    else if (e.key === "[") this.turn(-1);
  }

  private refresh(): void {
    const q = this.query;
    const filtered = q && this.options.searchText ? this.rows.filter((r) => this.options.searchText!(r).toLowerCase().includes(q)) : this.rows.slice();
    const col = this.sortColumn === null ? undefined : this.options.columns[this.sortColumn];
    if (col?.sort) {
      const s = col.sort;
      filtered.sort(this.descending ? (a, b) => s(b, a) : s);
    }
    this.view = filtered;
    this.drawBody();
  }

  private drawHead(): void {
    clear(this.head);
    this.options.columns.forEach((c, i) => {
      const sorted = this.sortColumn === i;
      const th = h(
        "th",
        {
          class: `${c.numeric ? "num" : ""} ${c.sort ? "sortable" : ""}`,
          title: c.title,
          "aria-sort": sorted ? (this.descending ? "descending" : "ascending") : undefined,
          tabindex: c.sort ? 0 : undefined,
        },
        c.label,
        sorted ? (this.descending ? " ▼" : " ▲") : "",
      );
      if (c.sort) {
        const toggle = () => {
          if (this.sortColumn === i) this.descending = !this.descending;
          else {
            this.sortColumn = i;
            this.descending = false;
          }
          this.page = 0;
          this.drawHead();
          this.refresh();
        };
        th.addEventListener("click", toggle);
        th.addEventListener("keydown", (e) => {
          if (e.key === "Enter") toggle();
        });
      }
      this.head.appendChild(th);
    });
  }

  private drawBody(): void {
    clear(this.body);
    const pages = Math.max(1, Math.ceil(this.view.length / this.pageSize));
    this.page = Math.min(this.page, pages - 1);
    const start = this.page * this.pageSize;
    const shown = this.view.slice(start, start + this.pageSize);
    const fragment = document.createDocumentFragment();
    for (const row of shown) {
      const tr = h("tr", { tabindex: this.options.onSelect ? 0 : undefined, class: row === this.selected ? "selected" : undefined });
      for (const c of this.options.columns) tr.appendChild(h("td", { class: c.numeric ? "num" : undefined }, c.cell(row)));
      if (this.options.onSelect) {
        const select = () => {
          this.selected = row;
          for (const other of Array.from(this.body.querySelectorAll("tr.selected"))) other.classList.remove("selected");
          tr.classList.add("selected");
          this.options.onSelect!(row);
        };
        tr.addEventListener("click", select);
        tr.addEventListener("keydown", (e) => {
          if (e.key === "Enter") select();
        });
      }
      fragment.appendChild(tr);
    }
    this.body.appendChild(fragment);
    if (this.view.length === 0) {
      this.body.appendChild(h("tr", {}, h("td", { colspan: this.options.columns.length, class: "empty" }, !this.loaded ? "Loading…" : this.rows.length === 0 ? (this.options.emptyText ?? "Nothing here yet.") : "No row matches the search.")));
    }
    const total = this.view.length;
    this.status.textContent =
      total === 0 ? "0 rows" : `${(start + 1).toLocaleString("en-US")}–${Math.min(start + this.pageSize, total).toLocaleString("en-US")} of ${total.toLocaleString("en-US")}${this.view.length < this.rows.length ? ` (${this.rows.length.toLocaleString("en-US")} in all)` : ""} · page ${this.page + 1}/${pages}`;
  }
}
