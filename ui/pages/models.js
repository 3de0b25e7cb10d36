// Models: a project's models (create one from the ontology with the form generated from
// create_model's schema), and one model's page — train a version and follow it, its metrics
// beside the baseline's, its model card, predictions, and monitoring: batch predictions for
// every entity (infer) and drift checks (monitor_model) with their reports.
import { call, operation } from "../lib/api.js";
import { fmtTime, h, replace } from "../lib/dom.js";
import { dataTable } from "../components/table.js";
import { barChart } from "../components/chart.js";
import { operationForm } from "../components/form.js";
import { confirmDialog } from "../components/dialog.js";
import { resultView } from "./operations.js";
import { formDialog } from "./projects.js";

const FINAL = new Set(["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]);

function stateBadge(state) {
  return h("span", { class: `state ${String(state || "").toLowerCase()}` }, state || "not trained");
}

export async function modelsPage(main, { project }, _query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], ["Models", `/projects/${project}/models`]]);
  const listed = await call("list_models", { project });
  const create = h("button", { type: "button" }, "New model");
  create.addEventListener("click", async () => {
    const made = await formDialog(shell, "create_model", { title: "New model from the ontology", values: { project }, hidden: ["project"], submitLabel: "Create model" });
    if (made) { shell.toast(`Model ${made.name} created: train it to get a version.`); shell.go(`/projects/${project}/models/${made.name}`); }
  });
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Models"), create),
    h("p", { class: "lead" }, "A model predicts an attribute of an ontology class from the class's other attributes and its relationships."),
    dataTable({
      caption: `Models of ${project}`, rows: listed.items, filename: `${project}-models.csv`, empty: "No models yet: create one.",
      columns: [
        { key: "name", label: "Name", render: (m) => h("a", { href: `#/projects/${project}/models/${m.name}` }, m.name) },
        { key: "class", label: "Class", render: (m) => m.spec.entity_class },
        { key: "target", label: "Target", render: (m) => m.spec.target },
        { key: "algorithm", label: "Algorithm", render: (m) => m.spec.algorithm },
        { key: "version", label: "Version", render: (m) => m.latest?.version ?? "—" },
        { key: "state", label: "State", render: (m) => stateBadge(m.latest?.state) },
      ],
    }));
}

/** Metrics of a card: a table and a chart, each metric beside the baseline's. */
function metricsView(metrics) {
  const names = Object.keys(metrics.cv || {});
  const mean = (group, name) => (typeof group?.[name] === "object" ? group[name]?.mean : group?.[name]);
  const rows = names.map((name) => ({
    metric: name, cv: mean(metrics.cv, name), cv_baseline: mean(metrics.cv_baseline, name),
    holdout: mean(metrics.holdout, name), holdout_baseline: mean(metrics.holdout_baseline, name),
  }));
  const fmt = (v) => (typeof v === "number" ? v.toFixed(3) : v ?? "—");
  const points = rows.flatMap((r) => [
    { label: `${r.metric} (model)`, value: Number(r.cv) || 0 },
    { label: `${r.metric} (baseline)`, value: Number(r.cv_baseline) || 0, kind: "baseline" },
  ]);
  return h("div", { id: "model-metrics" },
    dataTable({
      caption: "Metrics: the model beside the baseline", rows, filename: "metrics.csv",
      columns: [
        { key: "metric", label: "Metric" }, { key: "cv", label: "CV mean", render: (r) => fmt(r.cv) },
        { key: "cv_baseline", label: "Baseline CV", render: (r) => fmt(r.cv_baseline) },
        { key: "holdout", label: "Holdout", render: (r) => fmt(r.holdout) },
        { key: "holdout_baseline", label: "Baseline holdout", render: (r) => fmt(r.holdout_baseline) },
      ],
    }),
    points.length ? barChart({ label: `Cross-validated ${names.join(", ")}: each model bar (blue) beside its baseline's (grey)`, points }) : null);
}

export async function modelPage(main, { project, name }, _query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], ["Models", `/projects/${project}/models`], [name, `/projects/${project}/models/${name}`]]);
  const hash = location.hash;
  const body = h("div", {});
  const train = h("button", { type: "button" }, "Train new version");
  const remove = h("button", { type: "button", class: "danger" }, "Delete model");
  const predictOp = await operation("predict");

  function draw(model) {
    const latest = model.latest;
    replace(body,
      h("dl", { class: "facts" },
        h("dt", {}, "Class"), h("dd", {}, model.spec.entity_class), h("dt", {}, "Target"), h("dd", {}, model.spec.target),
        h("dt", {}, "Task"), h("dd", {}, model.spec.task), h("dt", {}, "Algorithm"), h("dd", {}, model.spec.algorithm),
        h("dt", {}, "Ontology"), h("dd", {}, model.ontology),
        h("dt", {}, "Latest version"), h("dd", { id: "model-state" }, latest ? [`v${latest.version} `, stateBadge(latest.state)] : "not trained yet"),
        latest?.error ? [h("dt", {}, "Error"), h("dd", { role: "alert" }, latest.error)] : null),
      h("section", { class: "card", "aria-label": "Versions" }, h("h2", {}, "Versions"), dataTable({
        caption: "Versions, newest first", rows: model.versions, filename: `${name}-versions.csv`, empty: "No versions yet: train one.",
        columns: [
          { key: "version", label: "Version" }, { key: "state", label: "State", render: (v) => stateBadge(v.state) },
          { key: "created_at", label: "Started", render: (v) => fmtTime(v.created_at) },
          { key: "finished_at", label: "Finished", render: (v) => fmtTime(v.finished_at) }, { key: "error", label: "Error" },
        ],
      })),
      model.card ? h("div", { class: "grid" },
        h("section", { class: "card", "aria-label": "Metrics" }, h("h2", {}, "Metrics"), metricsView(model.card.metrics || {})),
        h("section", { class: "card", "aria-label": "Model card" }, h("h2", {}, "Model card"),
          h("pre", { class: "json", id: "model-card", tabindex: "0", "aria-label": "Model card (Markdown)" }, model.card_markdown || JSON.stringify(model.card, null, 2)))) : null,
      model.card && predictOp ? h("section", { class: "card", "aria-label": "Predict" }, h("h2", {}, "Predict"), predictForm(predictOp, project, name, shell)) : null,
      model.card ? monitoring : null);
  }
  const monitoring = monitoringSection(project, name, shell);

  async function follow() {
    // Training is a flow run: re-read the model until its newest version has ended.
    for (;;) {
      const model = await call("get_model", { project, name });
      if (location.hash !== hash) return;
      draw(model);
      if (!model.latest || FINAL.has(model.latest.state)) return;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  train.addEventListener("click", async () => {
    const started = await shell.act(train, () => call("train_model", { project, name }));
    if (!started) return;
    shell.toast(`Training version ${started.version} started.`);
    train.disabled = true;
    try { await follow(); } catch (error) { shell.showError(error); } finally { train.disabled = false; }
  });
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(`Delete model ${name}?`, "Its versions and their artifacts are deleted; its predictions table stays.", "Delete model"))) return;
    const done = await shell.act(remove, () => call("delete_model", { project, name }));
    if (done) { shell.toast(`Model ${name} deleted.`); shell.go(`/projects/${project}/models`); }
  });
  const model = await call("get_model", { project, name });
  main.append(h("div", { class: "page-head" }, h("h1", {}, `Model ${name}`), h("div", { class: "actions" }, train, remove)), body);
  draw(model);
  if (model.latest && !FINAL.has(model.latest.state)) follow().catch((error) => shell.showError(error));
}

function predictForm(op, project, name, shell) {
  const out = h("div", { "aria-live": "polite" });
  const form = operationForm(op, {
    values: { project, name }, hidden: ["project", "name", "scenario"], submitLabel: "Predict",
    onSubmit: async (input) => {
      out.replaceChildren();
      const result = await shell.act(null, () => call("predict", input));
      if (result) out.append(resultView(result, "Predictions"));
    },
  });
  return h("div", {}, form, out);
}

/** Follow a flow run Mimir started until it has ended; `say` reports each state. */
async function followRun(project, started, say) {
  let run = null;
  while (!run?.final) {
    if (run) await new Promise((resolve) => setTimeout(resolve, 1500));
    run = await call("get_project_run", { project, run_id: started.flow_run_id });
    say(run);
  }
  return run;
}

/** The newest drift report: verdict, reasons, PSI per feature against the threshold. */
function driftView(history) {
  const newest = history.items[0];
  if (!newest) return h("p", {}, "No drift check yet: check drift to compare today's data with the training data.");
  const features = Object.entries(newest.features || {}).map(([feature, d]) => ({ feature, ...d }));
  const points = [...features.map((f) => ({ label: f.feature, value: Number(f.psi) || 0, kind: f.psi > newest.psi_threshold ? "" : "baseline" })),
    { label: "predictions", value: Number(newest.prediction?.psi) || 0, kind: newest.prediction?.psi > newest.psi_threshold ? "" : "baseline" }];
  const fmt = (v) => (typeof v === "number" ? v.toFixed(3) : v ?? "—");
  return h("div", {},
    h("p", { id: "drift-verdict", role: "status" }, h("strong", {}, history.degraded ? "Degraded" : "Not degraded"),
      ` — checked ${fmtTime(newest.checked_at)} on version ${newest.model_version}, ${newest.rows?.current ?? "?"} rows against ${newest.rows?.reference ?? "?"} training rows.`),
    newest.reasons?.length ? h("ul", { "aria-label": "Why it is degraded" }, newest.reasons.map((r) => h("li", {}, r))) : null,
    barChart({ label: `Population stability index per feature and of the predictions; above ${newest.psi_threshold} (blue) counts as drift`, points }),
    dataTable({
      caption: "Drift checks, newest first", rows: history.items, filename: "drift.csv",
      columns: [
        { key: "checked_at", label: "Checked", render: (r) => fmtTime(r.checked_at) },
        { key: "model_version", label: "Version" },
        { key: "degraded", label: "Degraded", render: (r) => (r.degraded ? "yes" : "no") },
        { key: "prediction_psi", label: "Prediction PSI", render: (r) => fmt(r.prediction?.psi) },
        { key: "reasons", label: "Reasons", render: (r) => (r.reasons || []).join("; ") || "—" },
      ],
    }));
}

/** Monitoring: score every entity into the predictions table, check drift, read the reports. */
function monitoringSection(project, name, shell) {
  const check = h("button", { type: "button" }, "Check drift");
  const score = h("button", { type: "button", class: "secondary" }, "Score every entity");
  const state = h("p", { class: "hint", "aria-live": "polite" });
  const reports = h("div", { id: "model-drift" });
  const load = async () => replace(reports, driftView(await call("list_model_drift", { project, name })));
  const runFrom = (button, opId, what) => button.addEventListener("click", async () => {
    const started = await shell.act(button, () => call(opId, { project, name }));
    if (!started) return;
    button.disabled = true;
    try {
      const run = await followRun(project, started, (r) => { state.textContent = `${what}: ${r.state_name || r.state}`; });
      if (run.state !== "COMPLETED") shell.toast(`${what} ended ${run.state_name || run.state}: ${run.message || ""}`, "error");
      else if (opId === "infer") shell.toast(`${run.result?.rows ?? "The"} predictions stored in table mimir_predictions_${name.replaceAll("-", "_")}.`);
      await load();
    } catch (error) {
      shell.showError(error);
    } finally {
      button.disabled = false;
    }
  });
  runFrom(check, "monitor_model", "Drift check");
  runFrom(score, "infer", "Batch predictions");
  load().catch((error) => shell.showError(error));
  return h("section", { class: "card", "aria-label": "Monitoring" },
    h("div", { class: "page-head" }, h("h2", {}, "Monitoring"), h("div", { class: "actions" }, score, check)),
    h("p", { class: "hint" }, "Batch predictions land in the model's predictions table (the twin shows them, rules can judge them); a drift check compares today's data and predictions with the training data, and a degraded model fires model_drift triggers."),
    state, reports);
}
