// Shell: the frame around every page — navigation, breadcrumbs, toasts, the sign-in state
// (and the open-mode banner) and the hash router that picks the page. Pages only fill <main>.
import { ApiError, systemInfo, token } from "../lib/api.js";
import { clear, h, problemView } from "../lib/dom.js";

const routes = [];
let navItems = [];

/** Register a page: `pattern` like "/projects/:project", `render(main, params, shell)`. */
export function route(pattern, render) {
  const names = [];
  const regex = new RegExp("^" + pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return "([^/]+)"; }) + "/?$");
  routes.push({ regex, names, render });
}

/** Top navigation entries: [{label, href}]. */
export function setNav(items) {
  navItems = items;
  renderNav();
}

export function go(path) {
  location.hash = "#" + path;
}

/** Show a short message in the live region; errors stay until dismissed. */
export function toast(message, kind = "info") {
  const region = document.getElementById("toasts");
  const close = h("button", { class: "link", "aria-label": "Dismiss message" }, "×");
  const node = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    message instanceof Node ? message : h("span", {}, message), close);
  close.addEventListener("click", () => node.remove());
  region.append(node);
  if (kind !== "error") setTimeout(() => node.remove(), 6000);
}

/** Report an error the way the API said it; 401 sends the user to sign in. */
export function showError(error) {
  if (error instanceof ApiError) {
    if (error.status === 401 && !location.hash.startsWith("#/signin")) {
      toast("Please sign in: this server needs a token.");
      go(`/signin?next=${encodeURIComponent(location.hash.slice(1))}`);
      return;
    }
    toast(problemView(error.problem), "error");
  } else {
    toast(problemView({ title: "Something went wrong", detail: String(error?.message || error) }), "error");
  }
}

/** Run an async action from a button: disables it, reports errors, returns the result. */
export async function act(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

function setCrumbs(crumbs) {
  const nav = document.getElementById("crumbs");
  clear(nav);
  const list = h("ol", {});
  crumbs.forEach(([label, href], i) => {
    const last = i === crumbs.length - 1;
    list.append(h("li", {}, last ? h("span", { "aria-current": "page" }, label) : h("a", { href: "#" + href }, label)));
  });
  nav.append(list);
  document.title = `${crumbs.at(-1)?.[0] || "Mimir"} · Mimir AIP`;
}

function renderNav() {
  const nav = document.getElementById("nav-links");
  if (!nav) return;
  const current = location.hash.slice(1) || "/";
  clear(nav);
  for (const item of navItems) {
    const active = current === item.href || (item.href !== "/" && current.startsWith(item.href));
    nav.append(h("li", {}, h("a", { href: "#" + item.href, "aria-current": active ? "page" : null }, item.label)));
  }
}

async function renderAuth() {
  const box = document.getElementById("auth");
  const banner = document.getElementById("banner");
  const info = await systemInfo({ refresh: true });
  clear(box);
  clear(banner);
  if (info && !info.auth_required) {
    banner.append(h("p", { class: "banner", role: "note" },
      h("strong", {}, "Open mode: "),
      "no API token exists, so anyone on this machine can use Mimir. Create one with ",
      h("code", {}, "mimir token create NAME --scope admin"), " to require sign-in."));
  }
  if (token.get()) {
    const out = h("button", { class: "secondary" }, "Sign out");
    out.addEventListener("click", () => { token.clear(); renderAuth(); go("/signin"); });
    box.append(h("span", { class: "who" }, info ? `Signed in as ${info.caller}` : "Token set"), out);
  } else {
    box.append(h("a", { href: "#/signin", class: "button secondary" }, "Sign in"));
  }
}

export const shell = { toast, showError, act, go, crumbs: setCrumbs, refreshAuth: renderAuth };

async function render() {
  const hash = location.hash.slice(1) || "/";
  const [path, search = ""] = hash.split("?");
  const main = document.getElementById("main");
  renderNav();
  for (const { regex, names, render: page } of routes) {
    const match = path.match(regex);
    if (!match) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
    const query = Object.fromEntries(new URLSearchParams(search));
    clear(main);
    main.setAttribute("aria-busy", "true");
    try {
      await page(main, params, query, shell);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) { showError(error); return; }
      clear(main);
      main.append(h("h1", {}, "This page could not be shown"),
        problemView(error instanceof ApiError ? error.problem : { title: "Error", detail: String(error?.message || error) }));
    } finally {
      main.removeAttribute("aria-busy");
    }
    document.getElementById("main").focus({ preventScroll: true });
    return;
  }
  clear(main);
  setCrumbs([["Not found", path]]);
  main.append(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to projects")));
}

/** Start the app: draw the frame, then render the page for the current hash on every change. */
export function start() {
  const menu = document.getElementById("menu-toggle");
  menu.addEventListener("click", () => {
    const open = menu.getAttribute("aria-expanded") !== "true";
    menu.setAttribute("aria-expanded", String(open));
    document.getElementById("nav-links").classList.toggle("open", open);
  });
  // on a narrow screen the menu closes once a page is chosen, showing the page it opened
  const closeMenu = () => {
    menu.setAttribute("aria-expanded", "false");
    document.getElementById("nav-links").classList.remove("open");
  };
  document.getElementById("nav-links").addEventListener("click", (event) => { if (event.target.closest("a")) closeMenu(); });
  window.addEventListener("hashchange", () => { closeMenu(); render(); });
  window.addEventListener("unhandledrejection", (event) => { event.preventDefault(); showError(event.reason); });
  renderAuth();
  render();
}
