// Anomalies and alerts of a project: run detection and follow it, alerts filtered with the
// form generated from list_alerts, acknowledge / resolve (and approve / reject where the API
// has those operations), the stored anomalies, and the remaining anomaly and trigger
// operations (settings, events, triggers) as generated forms.
import { call, operation, operations } from "../lib/api.js";
import { append, fmtTime, h, replace } from "../lib/dom.js";
import { dataTable } from "../components/table.js";
import { operationForm } from "../components/form.js";
import { operationPanel } from "./operations.js";

const ACTIONS = [
  { id: "acknowledge_alert", label: "Acknowledge", when: (a) => a.state === "open" },
  { id: "resolve_alert", label: "Resolve", when: (a) => a.state !== "resolved" },
  { id: "approve_alert", label: "Approve", when: (a) => a.state !== "resolved" },
  { id: "reject_alert", label: "Reject", when: (a) => a.state !== "resolved" },
];
const PAGE_OPS = new Set(["list_alerts", "list_anomalies", "run_anomaly_detection", "submit_anomalies", "get_alert", ...ACTIONS.map((a) => a.id)]);

const shortIri = (iri) => decodeURIComponent(String(iri).split(/[/#]/).pop());
const badge = (value) => h("span", { class: `state ${value}` }, value);

export async function alertsPage(main, { project }, _query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], ["Anomalies and alerts", `/projects/${project}/alerts`]]);
  const ops = await operations();
  const actions = ACTIONS.filter((a) => ops.some((op) => op.id === a.id));
  const alertsBox = h("div", { "aria-live": "polite" });
  const anomaliesBox = h("div", {});
  let filter = {};

  async function loadAlerts() {
    const fetchPage = (cursor) => call("list_alerts", { limit: 25, ...filter, project, cursor });
    const first = await shell.act(null, () => fetchPage());
    if (!first) return;
    replace(alertsBox, dataTable({
      caption: "Alerts", rows: first.items, nextCursor: first.next_cursor, filename: `${project}-alerts.csv`, empty: "No alerts.",
      loadMore: async (cursor) => { const page = await shell.act(null, () => fetchPage(cursor)); return page ? { rows: page.items, nextCursor: page.next_cursor } : null; },
      columns: [
        { key: "severity", label: "Severity", render: (a) => badge(a.severity) },
        { key: "state", label: "State", render: (a) => badge(a.state) },
        { key: "class_name", label: "Class" },
        { key: "entity", label: "Entity", render: (a) => h("span", { title: a.entity }, shortIri(a.entity)) },
        { key: "summary", label: "Summary" }, { key: "occurrences", label: "Seen" },
        { key: "last_seen", label: "Last seen", render: (a) => fmtTime(a.last_seen) },
        {
          key: "actions", label: "Actions", sortable: false,
          render: (a) => h("div", { class: "actions" }, actions.filter((x) => x.when(a)).map((x) => {
            const button = h("button", { type: "button", class: "secondary", "aria-label": `${x.label} alert on ${shortIri(a.entity)}` }, x.label);
            button.addEventListener("click", async () => {
              const done = await shell.act(button, () => call(x.id, { project, alert_id: a.id }));
              if (done) { shell.toast(`Alert on ${shortIri(a.entity)} is ${done.state}.`); await loadAlerts(); }
            });
            return button;
          })),
        },
      ],
    }));
  }

  async function loadAnomalies() {
    const fetchPage = (cursor) => call("list_anomalies", { project, cursor, limit: 25 });
    const first = await shell.act(null, () => fetchPage());
    if (!first) return;
    replace(anomaliesBox, dataTable({
      caption: "Anomalies found by detection runs", rows: first.items, nextCursor: first.next_cursor, filename: `${project}-anomalies.csv`, empty: "No anomalies found yet.",
      loadMore: async (cursor) => { const page = await shell.act(null, () => fetchPage(cursor)); return page ? { rows: page.items, nextCursor: page.next_cursor } : null; },
      columns: [
        { key: "class_name", label: "Class" },
        { key: "entity", label: "Entity", render: (a) => h("span", { title: a.entity }, shortIri(a.entity)) },
        { key: "attributes", label: "Attributes", render: (a) => a.attributes.join(", ") },
        { key: "value", label: "Value" }, { key: "score", label: "Score", render: (a) => a.score.toFixed(2) },
        { key: "method", label: "Method" }, { key: "explanation", label: "Explanation" },
        { key: "detected_at", label: "Detected", render: (a) => fmtTime(a.detected_at) },
      ],
    }));
  }

  const detect = h("button", { type: "button" }, "Run detection");
  const runState = h("p", { id: "detection-state", "aria-live": "polite" });
  detect.addEventListener("click", async () => {
    const started = await shell.act(detect, () => call("run_anomaly_detection", { project }));
    if (!started) return;
    detect.disabled = true;
    try {
      let run = null;
      while (!run?.final) {
        if (run) await new Promise((resolve) => setTimeout(resolve, 1500));
        run = await call("get_project_run", { project, run_id: started.flow_run_id });
        runState.textContent = `Detection ${started.flow_run_name || ""}: ${run.state_name || run.state}`;
      }
      if (run.state !== "COMPLETED") shell.toast(`Detection ended ${run.state_name || run.state}: ${run.message || ""}`, "error");
      await Promise.all([loadAlerts(), loadAnomalies()]);
    } catch (error) {
      shell.showError(error);
    } finally {
      detect.disabled = false;
    }
  });

  const listOp = await operation("list_alerts");
  const filterForm = operationForm(listOp, {
    values: { project }, hidden: ["project", "cursor", "limit"], submitLabel: "Show alerts",
    onSubmit: async (input) => { filter = { ...input }; delete filter.project; await loadAlerts(); },
  });
  filterForm.classList.add("inline-form");
  const rest = ops.filter((op) => op.tags.some((t) => t === "anomalies" || /trigger/i.test(t)) && !PAGE_OPS.has(op.id));
  append(main, [
    h("div", { class: "page-head" }, h("h1", {}, "Anomalies and alerts"), detect), runState,
    h("p", { class: "lead" }, "Detection looks for unusual values in the ontology's classes; each condition raises one alert, which a person acknowledges and resolves."),
    h("section", { class: "card", "aria-label": "Alerts" }, h("h2", {}, "Alerts"), filterForm, alertsBox),
    h("section", { class: "card", "aria-label": "Anomalies" }, h("h2", {}, "Anomalies"), anomaliesBox),
    rest.length ? [h("h2", {}, "Settings, events and triggers"), rest.map((op) => operationPanel(op, shell, { project }))] : null]);
  await Promise.all([loadAlerts(), loadAnomalies()]);
}
