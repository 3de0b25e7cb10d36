// System: health, readiness, versions, the self-check flow and links to the Prefect UI and
// the API docs.
import { call, systemInfo } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { dataTable } from "../components/table.js";

export async function systemPage(main, _params, _query, shell) {
  shell.crumbs([["System", "/system"]]);
  const [health, ready, info] = await Promise.all([
    call("get_health"), call("get_readiness").catch((e) => e.problem), systemInfo({ refresh: true }),
  ]);
  const checks = Object.entries(ready?.checks || {}).map(([name, value]) => ({ check: name, result: typeof value === "object" ? JSON.stringify(value) : String(value) }));
  const selfcheck = h("button", { type: "button" }, "Run self-check");
  const out = h("p", { "aria-live": "polite" });
  selfcheck.addEventListener("click", async () => {
    out.textContent = "Running the mimir-selfcheck flow on the work pool…";
    const result = await shell.act(selfcheck, () => call("run_selfcheck", { echo: "ok" }));
    out.textContent = result ? `Self-check ${result.flow_run_name}: ${result.state_name || result.state}.` : "Self-check failed.";
  });
  main.append(h("h1", {}, "System"),
    h("dl", { class: "facts" },
      h("dt", {}, "Health"), h("dd", { id: "health" }, health.status),
      h("dt", {}, "Ready"), h("dd", {}, ready?.ready ? "yes" : "no"),
      h("dt", {}, "Mimir version"), h("dd", {}, health.version),
      info ? [h("dt", {}, "Authentication"), h("dd", {}, info.auth_required ? "tokens required" : "open mode"),
        h("dt", {}, "Signed in as"), h("dd", {}, info.caller),
        h("dt", {}, "Work pool"), h("dd", {}, info.work_pool),
        h("dt", {}, "Storage"), h("dd", {}, h("code", {}, info.storage_url)),
        h("dt", {}, "Prefect API"), h("dd", {}, h("code", {}, info.prefect_api_url))] : null),
    h("div", { class: "actions" }, selfcheck,
      info ? h("a", { class: "button secondary", href: info.prefect_ui_url, target: "_blank", rel: "noopener" }, "Open the Prefect UI") : null,
      h("a", { class: "button secondary", href: "/api/v1/docs" }, "API docs")),
    out,
    h("h2", {}, "Readiness checks"), dataTable({ caption: "Readiness checks", rows: checks, filename: "readiness.csv" }));
}
