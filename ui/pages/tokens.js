// Tokens: names, scopes and last use (never secrets), and revoke. New tokens are made with the
// CLI (`mimir token create`), which prints the secret once.
import { call } from "../lib/api.js";
import { fmtTime, h } from "../lib/dom.js";
import { dataTable } from "../components/table.js";
import { confirmDialog } from "../components/dialog.js";

export async function tokensPage(main, _params, _query, shell) {
  shell.crumbs([["Tokens", "/tokens"]]);
  const list = await call("list_tokens", { include_revoked: true });
  main.append(h("h1", {}, "Tokens"),
    h("p", { class: "lead" }, "Create a token with ", h("code", {}, "mimir token create NAME --scope read|write|admin"), "; its secret is printed once and only a digest is stored."),
    dataTable({
      caption: "API tokens", filename: "tokens.csv", rows: list.items, empty: "No tokens: the API runs in open mode.",
      columns: [
        { key: "name", label: "Name" }, { key: "scopes", label: "Scopes", render: (t) => t.scopes.join(", ") },
        { key: "created_at", label: "Created", render: (t) => fmtTime(t.created_at) },
        { key: "last_used_at", label: "Last used", render: (t) => fmtTime(t.last_used_at) },
        { key: "revoked_at", label: "Revoked", render: (t) => t.revoked_at ? fmtTime(t.revoked_at) : h("button", { type: "button", class: "link", "aria-label": `Revoke ${t.name}`, onclick: async () => {
          if (!(await confirmDialog(`Revoke ${t.name}?`, "Every client using this token loses access at once.", "Revoke"))) return;
          if (await shell.act(null, () => call("revoke_token", { name: t.name }))) { shell.toast(`${t.name} revoked.`); window.dispatchEvent(new HashChangeEvent("hashchange")); }
        } }, "Revoke") },
      ],
    }));
}
