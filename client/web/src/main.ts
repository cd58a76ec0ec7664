// The dashboard's shell: sign-in, the top bar (views, team and role, sign out) and a hash router
// (#/benchmarks/ID/items, #/audits/ID, ...), so every view has a URL and the back button works.
// Each view draws into the main element and returns a cleanup (closing its event streams).
import { ApiError, call, forgetKey, setUnauthenticatedHandler, storeKey, storedKey } from "./api";
import { clear, enumWord, h, notice } from "./dom";
import type { WhoAmI } from "./types";
import { benchmarkView, benchmarksView } from "./views/benchmarks";
import { auditView, auditsView } from "./views/audits";
import { monitorView, monitorsView } from "./views/monitors";
import { sessionView, sessionsView } from "./views/sessions";
import { comparisonView, comparisonsView } from "./views/comparisons";

export type Cleanup = () => void;
export type View = (main: HTMLElement, params: string[]) => Cleanup | void;

const routes: [RegExp, View][] = [
  [/^\/?$/, benchmarksView],
  [/^\/benchmarks$/, benchmarksView],
  [/^\/benchmarks\/([^/]+)(?:\/(leaderboard|items|fits))?$/, benchmarkView],
  [/^\/sessions$/, sessionsView],
  [/^\/sessions\/([^/]+)$/, sessionView],
  [/^\/audits$/, auditsView],
  [/^\/audits\/([^/]+)$/, auditView],
  [/^\/monitors$/, monitorsView],
  [/^\/monitors\/([^/]+)$/, monitorView],
  [/^\/comparisons$/, comparisonsView],
  [/^\/comparisons\/([^/]+)$/, comparisonView],
];

const nav: [string, string][] = [
  ["#/benchmarks", "Benchmarks"],
  ["#/sessions", "Adaptive tests"],
  ["#/audits", "Audits"],
  ["#/monitors", "Monitors"],
  ["#/comparisons", "Comparisons"],
];

const app = document.getElementById("app")!;
let cleanup: Cleanup | void;
let whoami: WhoAmI | null = null;
// Why the last session ended (an expired or revoked key), shown on the sign-in page.
let signedOutBecause = "";

function signOut(reason = ""): void {
  forgetKey();
  whoami = null;
  signedOutBecause = reason;
  if (cleanup) cleanup();
  cleanup = undefined;
  location.hash = "#/";
  render();
}

setUnauthenticatedHandler((e: ApiError) => signOut(`Signed out: the server no longer accepts this key (${e.message}).`));

function signInPage(): void {
  clear(app);
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true, placeholder: "assay_…", "aria-describedby": "signin-message" });
  const message = h("div", { id: "signin-message", role: "alert", class: signedOutBecause ? "notice notice-error" : "" }, signedOutBecause);
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    {
      class: "signin",
      onsubmit: (async (e: Event) => {
        e.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        button.setAttribute("disabled", "");
        message.className = "notice notice-loading";
        message.textContent = "Checking the key…";
        try {
          whoami = await call<WhoAmI>("/v1/whoami", undefined, key);
          storeKey(key);
          signedOutBecause = "";
          render();
        } catch (err) {
          const e = err as ApiError;
          message.className = "notice notice-error";
          message.textContent = e.unreachable
            ? `The server did not answer at ${location.origin}. Is assayd running?`
            : e.unauthenticated
              ? `That key was not accepted: ${e.message}. Check it, or ask your team's admin for a new one (assayd team create / assay keys create).`
              : `Sign-in failed: ${e.message}`;
          button.removeAttribute("disabled");
          input.focus();
          input.select();
        }
      }) as EventListener,
    },
    h("h1", {}, "assay"),
    h("p", { class: "muted" }, "Calibration, adaptive tests, anytime-valid audits and comparisons of AI models."),
    h("label", { for: "api-key" }, "API key"),
    input,
    button,
    message,
    h("p", { class: "muted small" }, "The key is kept in this tab's session storage only and is sent in the Authorization header, never in a URL."),
  );
  app.appendChild(h("main", { class: "signin-page" }, form));
  input.focus();
}

function shell(): HTMLElement {
  clear(app);
  const links = nav.map(([href, label]) => h("a", { href, "data-nav": href }, label));
  const who = whoami!;
  const header = h(
    "header",
    { class: "topbar" },
    h("a", { class: "brand", href: "#/" }, "assay"),
    h("nav", { "aria-label": "Views" }, ...links),
    h("span", { class: "spacer" }),
    h("span", { class: "who", "data-testid": "whoami", title: `key ${who.keyPrefix ?? ""}` }, h("strong", {}, who.team), " · ", enumWord(who.role, "ROLE_")),
    h("button", { type: "button", class: "signout", onclick: () => signOut() }, "Sign out"),
  );
  const main = h("main", { id: "main", tabindex: -1 });
  app.append(header, main);
  return main;
}

function route(): void {
  if (!whoami) return;
  if (cleanup) cleanup();
  cleanup = undefined;
  const path = (location.hash.replace(/^#/, "") || "/").split("?")[0];
  let main = document.getElementById("main");
  if (!main) main = shell();
  clear(main);
  for (const a of Array.from(document.querySelectorAll<HTMLAnchorElement>("[data-nav]"))) {
    const target = a.getAttribute("data-nav")!.slice(1);
    a.classList.toggle("active", path === target || path.startsWith(target + "/") || (path === "/" && target === "/benchmarks"));
  }
  for (const [pattern, view] of routes) {
    const m = pattern.exec(path);
    if (m) {
      cleanup = view(main, m.slice(1).map((s) => (s === undefined ? "" : decodeURIComponent(s))));
      return;
    }
  }
  main.appendChild(notice("error", `Not found: no view at ${path}.`));
}

async function render(): Promise<void> {
  const key = storedKey();
  if (!key) {
    signInPage();
    return;
  }
  if (!whoami) {
    clear(app);
    app.appendChild(notice("loading", "Signing in…"));
    try {
      whoami = await call<WhoAmI>("/v1/whoami");
    } catch (err) {
      const e = err as ApiError;
      if (e.unauthenticated) return; // the handler signed out
      clear(app);
      app.appendChild(notice("error", e.unreachable ? `The server did not answer at ${location.origin}. Is assayd running? Reload to retry.` : `Could not sign in: ${e.message}`));
      return;
    }
  }
  shell();
  route();
}

window.addEventListener("hashchange", route);
// Keyboard: "/" focuses the current view's search box; g then b/s/a/m/c go to a view.
let pendingG = false;
window.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "/") {
    const search = document.querySelector<HTMLInputElement>("main input[type=search]");
    if (search) {
      e.preventDefault();
      search.focus();
    }
  } else if (pendingG) {
    pendingG = false;
    const target = { b: "#/benchmarks", s: "#/sessions", a: "#/audits", m: "#/monitors", c: "#/comparisons" }[e.key];
    if (target) location.hash = target;
  } else if (e.key === "g") {
    pendingG = true;
    setTimeout(() => (pendingG = false), 1000);
  }
});
void render();
