// One pipeline run: state, timings, each step's task run and the latest logs, refreshed until
// the run reaches a final state; links to the same run in the Prefect UI.
import { call, prefectRunUrl } from "../lib/api.js";
import { fmtDuration, fmtTime, h, replace } from "../lib/dom.js";
import { dataTable } from "../components/table.js";

const FINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]);

export async function runPage(main, { project, name, run }, _query, shell) {
  const base = `/projects/${project}/pipelines/${name}`;
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], [name, base], ["Run", `${base}/runs/${run}`]]);
  const prefect = await prefectRunUrl(run);
  const head = h("div", {});
  const steps = h("section", { class: "card", "aria-label": "Steps" });
  const logs = h("section", { class: "card", "aria-label": "Logs" });
  const cancel = h("button", { type: "button", class: "danger" }, "Cancel run");
  cancel.addEventListener("click", async () => {
    if (await shell.act(cancel, () => call("cancel_pipeline_run", { project, name, run_id: run }))) shell.toast("Cancel requested.");
  });
  main.append(head, steps, logs);
  const here = location.hash;

  async function draw() {
    const detail = await call("get_pipeline_run", { project, name, run_id: run });
    const final = FINAL.has(detail.state);
    replace(head, 
      h("div", { class: "page-head" }, h("h1", {}, `Run ${detail.name}`),
        h("div", { class: "actions" }, prefect ? h("a", { href: prefect, class: "button secondary", target: "_blank", rel: "noopener" }, "Open in Prefect UI") : null, final ? null : cancel)),
      h("p", { class: "lead" }, "State: ", h("span", { class: `state ${detail.state.toLowerCase()}`, id: "run-state" }, detail.state_name || detail.state),
        detail.message ? ` — ${detail.message}` : ""),
      h("dl", { class: "facts" },
        h("dt", {}, "Started"), h("dd", {}, fmtTime(detail.start_time)),
        h("dt", {}, "Ended"), h("dd", {}, fmtTime(detail.end_time)),
        h("dt", {}, "Duration"), h("dd", {}, fmtDuration(detail.duration_s)),
        h("dt", {}, "Parameters"), h("dd", {}, h("code", {}, JSON.stringify(detail.parameters)))));
    replace(steps, h("h2", {}, "Steps"), dataTable({
      caption: "Step task runs",
      columns: [
        { key: "name", label: "Step" },
        { key: "state", label: "State", render: (s) => h("span", { class: `state ${s.state.toLowerCase()}` }, s.state) },
        { key: "attempts", label: "Attempts" },
        { key: "start_time", label: "Started", render: (s) => fmtTime(s.start_time) },
        { key: "duration_s", label: "Duration", render: (s) => fmtDuration(s.duration_s) },
      ],
      rows: detail.steps, filename: `${detail.name}-steps.csv`, empty: final ? "No work steps ran." : "Waiting for steps…",
    }));
    replace(logs, h("h2", {}, "Logs"), h("pre", { class: "logs", tabindex: "0", "aria-label": "Run logs" },
      detail.logs.map((l) => `${fmtTime(l.time)}  ${l.message}`).join("\n") || "No logs yet."));
    if (!final) setTimeout(() => { if (location.hash === here) draw().catch(shell.showError); }, 1500);
  }
  await draw();
}
