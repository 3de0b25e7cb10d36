// Anomalies and alerts of a project: run detection and follow it, alerts filtered with the
// form generated from list_alerts, acknowledge / resolve, approve / reject the actions manual
// triggers hold on an alert (and follow the runs approval starts), the project's triggers
// (list, create with the form generated from create_trigger, delete), the stored anomalies,
// and the remaining anomaly operations (settings, events) as generated forms.
import { call, operation, operations, prefectRunUrl } from "../lib/api.js";
import { append, fmtTime, h, replace } from "../lib/dom.js";
import { dataTable } from "../components/table.js";
import { operationForm } from "../components/form.js";
import { confirmDialog } from "../components/dialog.js";
import { operationPanel } from "./operations.js";
import { formDialog } from "./projects.js";

const ACTIONS = [
  { id: "acknowledge_alert", label: "Acknowledge", when: (a) => a.state === "open" },
  { id: "resolve_alert", label: "Resolve", when: (a) => a.state !== "resolved" },
  // only alerts on which a manual trigger holds an action have something to approve
  { id: "approve_alert", label: "Approve", when: (a) => a.pending_actions > 0 },
  { id: "reject_alert", label: "Reject", when: (a) => a.pending_actions > 0 },
];
const TRIGGER_OPS = ["list_triggers", "create_trigger", "delete_trigger", "get_trigger", "list_alert_actions"];
const PAGE_OPS = new Set(["list_alerts", "list_anomalies", "run_anomaly_detection", "submit_anomalies", "get_alert", ...TRIGGER_OPS, ...ACTIONS.map((a) => a.id)]);

const shortIri = (iri) => decodeURIComponent(String(iri).split(/[/#]/).pop());
const badge = (value) => h("span", { class: `state ${value}` }, value);

/**
 * A trigger's condition in words, e.g. "alert_raised: Reading.value, at least high"; a kind
 * this page does not know yet shows its fields as they are.
 */
function conditionText(c) {
  if (c.kind === "pipeline_run") return `pipeline_run: ${c.pipeline} ${c.outcome}`;
  if (c.kind === "alert_raised") {
    const what = [c.class_name, c.attribute].filter(Boolean).join(".") || "any class";
    return `${c.kind}: ${what}, at least ${c.min_severity || "low"}`;
  }
  if (c.kind === "model_drift") return `model_drift: ${c.model || "any model"}`;
  const rest = Object.entries(c).filter(([key, value]) => key !== "kind" && value !== null && value !== undefined);
  return [c.kind, rest.map(([key, value]) => `${key} ${typeof value === "object" ? JSON.stringify(value) : value}`).join(", ")].filter(Boolean).join(": ");
}

/** The actions manual triggers hold on one alert, filled in once list_alert_actions answers. */
function heldActions(project, alert, shell) {
  const box = h("ul", { class: "held-actions", "aria-label": `Actions held on ${shortIri(alert.entity)}` });
  call("list_alert_actions", { project, alert_id: alert.id })
    .then((held) => replace(box, held.items.map((x) => h("li", {}, `${x.trigger} → ${x.pipeline} (${x.state})`))))
    .catch((error) => shell.showError(error));
  return box;
}

export async function alertsPage(main, { project }, _query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], ["Anomalies and alerts", `/projects/${project}/alerts`]]);
  const ops = await operations();
  const actions = ACTIONS.filter((a) => ops.some((op) => op.id === a.id));
  const canListActions = ops.some((op) => op.id === "list_alert_actions");
  const alertsBox = h("div", { "aria-live": "polite" });
  const approvalBox = h("div", { id: "approval-state", "aria-live": "polite" });
  const triggersBox = h("div", {});
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
        { key: "pending_actions", label: "Held actions", render: (a) => (a.pending_actions > 0 && canListActions ? heldActions(project, a, shell) : String(a.pending_actions ?? 0)) },
        {
          key: "actions", label: "Actions", sortable: false,
          render: (a) => h("div", { class: "actions" }, actions.filter((x) => x.when(a)).map((x) => {
            const button = h("button", { type: "button", class: "secondary", "aria-label": `${x.label} alert on ${shortIri(a.entity)}` }, x.label);
            button.addEventListener("click", async () => {
              const done = await shell.act(button, () => call(x.id, { project, alert_id: a.id }));
              if (!done) return;
              shell.toast(`Alert on ${shortIri(a.entity)} is ${done.state}.`);
              if (x.id === "approve_alert") await showStarted(a, done);
              if (x.id === "reject_alert") showDecided(a, done);
              await loadAlerts();
            });
            return button;
          })),
        },
      ],
    }));
  }

  /** After approve_alert: each run it started, linked to its run page and the Prefect UI. */
  async function showStarted(alert, done) {
    const started = done.items.filter((x) => x.state === "approved" && x.flow_run_id);
    const items = await Promise.all(started.map(async (x) => {
      const prefect = await prefectRunUrl(x.flow_run_id);
      return h("li", {}, `${x.trigger} started ${x.pipeline}: `,
        h("a", { href: `#/projects/${project}/pipelines/${x.pipeline}/runs/${x.flow_run_id}` }, `run ${x.flow_run_id.slice(0, 8)}`),
        prefect ? [" · ", h("a", { href: prefect, target: "_blank", rel: "noopener" }, "Follow it in the Prefect UI")] : null);
    }));
    replace(approvalBox, h("p", {}, `Approved on ${shortIri(alert.entity)}:`), h("ul", { "aria-label": "Runs started by approval" }, items));
  }

  /** After reject_alert: the actions it dropped, with their state. */
  function showDecided(alert, done) {
    replace(approvalBox, h("p", {}, `Rejected on ${shortIri(alert.entity)}: nothing runs.`),
      h("ul", { "aria-label": "Actions rejected" }, done.items.map((x) => h("li", {}, `${x.trigger} → ${x.pipeline} (${x.state})`))));
  }

  async function loadTriggers() {
    const listed = await shell.act(null, () => call("list_triggers", { project }));
    if (!listed) return;
    replace(triggersBox, dataTable({
      caption: `Triggers of ${project}`, rows: listed.items, filename: `${project}-triggers.csv`, empty: "No triggers yet.",
      columns: [
        { key: "name", label: "Name" },
        { key: "condition", label: "Condition", render: (t) => conditionText(t.condition) },
        { key: "pipeline", label: "Pipeline", render: (t) => h("a", { href: `#/projects/${project}/pipelines/${t.pipeline}` }, t.pipeline) },
        { key: "approval", label: "Approval", render: (t) => badge(t.approval) },
        { key: "automation_id", label: "Prefect automation", render: (t) => (t.automation_id ? h("code", {}, t.automation_id) : "none (manual)") },
        {
          key: "delete", label: "Delete", sortable: false,
          render: (t) => {
            const button = h("button", { type: "button", class: "secondary danger", "aria-label": `Delete trigger ${t.name}` }, "Delete");
            button.addEventListener("click", async () => {
              const message = t.automation_id ? "The trigger and its Prefect automation are deleted." : "The trigger and the actions it holds on alerts are deleted.";
              if (!(await confirmDialog(`Delete trigger ${t.name}?`, message, "Delete trigger"))) return;
              const gone = await shell.act(button, () => call("delete_trigger", { project, name: t.name }));
              if (gone) { shell.toast(`Trigger ${t.name} deleted.`); await loadTriggers(); }
            });
            return button;
          },
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
  const hasTriggers = ops.some((op) => op.id === "list_triggers");
  const newTrigger = h("button", { type: "button" }, "New trigger");
  newTrigger.addEventListener("click", async () => {
    const made = await formDialog(shell, "create_trigger", { title: "New trigger", values: { project }, hidden: ["project"], submitLabel: "Create trigger" });
    if (made) { shell.toast(`Trigger ${made.name} created.`); await loadTriggers(); }
  });
  append(main, [
    h("div", { class: "page-head" }, h("h1", {}, "Anomalies and alerts"), detect), runState,
    h("p", { class: "lead" }, "Detection looks for unusual values in the ontology's classes; each condition raises one alert, which a person acknowledges and resolves."),
    h("section", { class: "card", "aria-label": "Alerts" }, h("h2", {}, "Alerts"), filterForm, alertsBox, approvalBox),
    hasTriggers ? h("section", { class: "card", "aria-label": "Triggers" },
      h("div", { class: "page-head" }, h("h2", {}, "Triggers"), newTrigger),
      h("p", { class: "hint" }, "A trigger runs an output pipeline when its condition holds: automatic ones through a Prefect automation, manual ones once a person approves the alert."),
      triggersBox) : null,
    h("section", { class: "card", "aria-label": "Anomalies" }, h("h2", {}, "Anomalies"), anomaliesBox),
    rest.length ? [h("h2", {}, "Settings and events"), rest.map((op) => operationPanel(op, shell, { project }))] : null]);
  await Promise.all([loadAlerts(), loadAnomalies(), hasTriggers ? loadTriggers() : null]);
}
