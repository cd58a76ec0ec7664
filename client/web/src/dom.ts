// Small DOM and formatting helpers: the dashboard builds its pages with these (no framework).

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

// h("a", {href: "#/x", onclick: f}, "text", child) creates an element; attributes whose name starts
// with "on" are listeners; false/undefined attributes and null children are skipped.
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value as EventListener);
    } else if (name === "class") {
      el.className = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

// Proto3 JSON writes int64 as strings: every count goes through num().
export function num(v: string | number | undefined | null): number {
  return v === undefined || v === null || v === "" ? 0 : Number(v);
}

// Proto3 JSON omits zeros: an absent number is 0. NaN and infinities print as "–".
export function fixed(v: number | undefined, digits = 2): string {
  const x = v ?? 0;
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

export function percent(v: number | undefined, digits = 1): string {
  const x = v ?? 0;
  return Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : "–";
}

export function count(v: string | number | undefined): string {
  return num(v).toLocaleString("en-US");
}

// An e-value or other positive statistic spanning many orders of magnitude.
export function evalue(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  if (v >= 1e4 || (v > 0 && v < 1e-3)) return v.toExponential(2);
  return v.toPrecision(3);
}

// Unix seconds (the API's created_at) as a UTC time.
export function when(seconds: string | number | undefined): string {
  const s = num(seconds);
  if (s === 0) return "–";
  return new Date(s * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

// A status line for loading, empty and error states, announced to screen readers.
export function notice(kind: "loading" | "empty" | "error", text: string): HTMLElement {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function badge(text: string, kind: string): HTMLElement {
  return h("span", { class: `badge badge-${kind}` }, text);
}

// Strips a proto enum's prefix: ("FIT_STATE_RUNNING", "FIT_STATE_") -> "running".
export function enumWord(value: string | undefined, prefix: string, unspecified = "–"): string {
  if (!value) return unspecified;
  return value.startsWith(prefix) ? value.slice(prefix.length).toLowerCase().replace(/_/g, " ") : value;
}
