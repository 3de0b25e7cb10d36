// Models: a project's models (create one from the ontology with the form generated from
// create_model's schema), and one model's page — train a version and follow it, its metrics
// beside the baseline's, its model card, and predictions.
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
      model.card && predictOp ? h("section", { class: "card", "aria-label": "Predict" }, h("h2", {}, "Predict"), predictForm(predictOp, project, name, shell)) : null);
  }

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
