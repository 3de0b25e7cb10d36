// Sign-in: paste a token (from `mimir token create`); it is checked against /system and kept
// for this browser tab only (sessionStorage).
import { request, token } from "../lib/api.js";
import { h, problemView } from "../lib/dom.js";

export async function signInPage(main, _params, query, shell) {
  shell.crumbs([["Sign in", "/signin"]]);
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true, "aria-describedby": "token-hint" });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card narrow", "aria-label": "Sign in" },
    h("div", { class: "field" }, h("label", { for: "token" }, "API token"), input,
      h("small", { id: "token-hint", class: "hint" }, "Create one with ", h("code", {}, "mimir token create NAME --scope admin"),
        ". It is kept in this tab only and sent as a bearer token.")),
    out, h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.replaceChildren();
    const previous = token.get();
    token.set(input.value.trim());
    try {
      const info = await request("GET", "/system");
      shell.toast(`Signed in as ${info.caller}.`);
      await shell.refreshAuth();
      shell.go(query.next || "/");
    } catch (error) {
      if (previous) token.set(previous); else token.clear();
      out.append(problemView(error.problem || { title: String(error) }));
    }
  });
  main.append(h("h1", {}, "Sign in"), form);
  input.focus();
}
