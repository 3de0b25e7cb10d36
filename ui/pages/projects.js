// Projects: the list (create, edit, clone, delete) and one project's overview, which links to
// its pipelines, ontologies, tables, twins, models and alerts.
import { call, operation, operations } from "../lib/api.js";
import { fmtTime, h } from "../lib/dom.js";
import { dataTable } from "../components/table.js";
import { operationForm } from "../components/form.js";
import { confirmDialog, openDialog } from "../components/dialog.js";

/** Open a dialog with the generated form of operation `id`; resolves with the result. */
export async function formDialog(shell, id, { title, values = {}, hidden = [], fields, submitLabel } = {}) {
  const op = await operation(id);
  if (!op) { shell.toast(`This server has no ${id} operation.`, "error"); return undefined; }
  return new Promise((resolve) => {
    let dialog;
    const form = operationForm(op, {
      values, hidden, fields, submitLabel,
      onSubmit: async (input) => {
        const result = await shell.act(null, () => call(id, input));
        if (result !== undefined) { dialog.close(); resolve(result); }
      },
    });
    dialog = openDialog({ title: title || op.summary, body: form });
    dialog.closed.then(() => resolve(undefined));
    form.querySelector("input, textarea, select")?.focus();
  });
}

export async function projectsPage(main, _params, _query, shell) {
  shell.crumbs([["Projects", "/"]]);
  const fetchPage = (cursor) => call("list_projects", { limit: 50, cursor });
  const first = await fetchPage();
  const create = h("button", { type: "button" }, "New project");
  create.addEventListener("click", async () => {
    const made = await formDialog(shell, "create_project", { title: "New project", submitLabel: "Create project", fields: ["name", "description", "labels"] });
    if (made) { shell.toast(`Project ${made.name} created.`); shell.go(`/projects/${made.name}`); }
  });
  const sample = h("button", { type: "button", class: "secondary" }, "Build the sample project");
  sample.addEventListener("click", async () => {
    const run = await shell.act(sample, () => call("run_demo", {}));
    if (run !== undefined) {
      shell.toast(`Building the sample project '${run.project}' (run ${run.flow_run_name}); its runs show on its page within a minute.`);
    }
  });
  const table = dataTable({
    caption: "Projects",
    columns: [
      { key: "name", label: "Name", render: (p) => h("a", { href: `#/projects/${p.name}` }, p.name) },
      { key: "description", label: "Description" },
      { key: "updated_at", label: "Updated", render: (p) => fmtTime(p.updated_at) },
    ],
    rows: first.items, nextCursor: first.next_cursor,
    loadMore: async (cursor) => { const page = await fetchPage(cursor); return { rows: page.items, nextCursor: page.next_cursor }; },
    filename: "projects.csv", empty: "No projects yet: create one.",
  });
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Projects"), h("div", { class: "actions" }, create, sample)),
    h("p", { class: "lead" }, "A project is a workspace with its own storage, pipelines, ontology and twin."), table);
}

function section(title, ...children) {
  return h("section", { class: "card", "aria-label": title }, h("h2", {}, title), ...children);
}

export async function projectPage(main, { project }, _query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`]]);
  const info = await call("get_project", { name: project });
  const [pipelines, runs, ontologies, tables] = await Promise.all([
    call("list_pipelines", { project }),
    call("list_project_runs", { project, limit: 20 }).catch(() => ({ items: [] })),
    call("list_ontologies", { project }).catch(() => ({ items: [] })),
    call("list_project_tables", { project }).catch(() => ({ items: [] })),
  ]);
  const edit = h("button", { type: "button", class: "secondary" }, "Edit");
  const clone = h("button", { type: "button", class: "secondary" }, "Clone");
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  edit.addEventListener("click", async () => {
    const done = await formDialog(shell, "update_project", { title: `Edit ${project}`, values: { name: project, description: info.description, labels: info.labels }, hidden: ["name"], submitLabel: "Save" });
    if (done) { shell.toast("Project saved."); projectPageReload(shell); }
  });
  clone.addEventListener("click", async () => {
    const done = await formDialog(shell, "clone_project", { title: `Clone ${project}`, values: { name: project }, hidden: ["name"], submitLabel: "Clone" });
    if (done) { shell.toast(`Cloned into ${done.name || done.project?.name || "a new project"}.`); shell.go("/"); }
  });
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(`Delete ${project}?`, "The project and everything it owns, storage included, will be deleted.", "Delete project"))) return;
    const done = await shell.act(remove, () => call("delete_project", { name: project }));
    if (done !== undefined) { shell.toast(`Project ${project} deleted.`); shell.go("/"); }
  });

  const newPipeline = h("button", { type: "button" }, "New pipeline");
  newPipeline.addEventListener("click", () => {
    const input = h("input", { id: "new-pipeline-name", required: true, "aria-describedby": "npn-hint" });
    const form = h("form", {}, h("div", { class: "field" }, h("label", { for: "new-pipeline-name" }, "Pipeline name"), input,
      h("small", { id: "npn-hint", class: "hint" }, "Lowercase letters, digits and '-'.")), h("div", { class: "actions" }, h("button", { type: "submit" }, "Open editor")));
    const d = openDialog({ title: "New pipeline", body: form });
    form.addEventListener("submit", (e) => { e.preventDefault(); d.close(); shell.go(`/projects/${project}/pipelines/${input.value.trim()}`); });
    input.focus();
  });
  const importOntology = h("button", { type: "button", class: "secondary" }, "Import ontology");
  importOntology.addEventListener("click", async () => {
    const done = await formDialog(shell, "create_ontology", { title: "Import or create an ontology", values: { project }, hidden: ["project"], submitLabel: "Save ontology" });
    if (done) shell.go(`/projects/${project}/ontologies/${done.name || "main"}`);
  });

  const ops = await operations();
  const twinOps = ops.filter((op) => op.tags.some((t) => /twin/i.test(t)));
  const has = (id) => ops.some((op) => op.id === id);
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, project), h("div", { class: "actions" }, edit, clone, remove)),
    h("p", { class: "lead" }, info.description || "No description."),
    h("dl", { class: "facts" }, h("dt", {}, "Storage"), h("dd", {}, h("code", {}, info.storage_url)),
      h("dt", {}, "Labels"), h("dd", {}, Object.entries(info.labels || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—")),
    h("div", { class: "grid" },
      section("Pipelines", dataTable({
        caption: "Pipelines",
        columns: [
          { key: "name", label: "Name", render: (p) => h("a", { href: `#/projects/${project}/pipelines/${p.name}` }, p.name) },
          { key: "type", label: "Type" }, { key: "version", label: "Version" },
        ],
        rows: pipelines.items, filename: `${project}-pipelines.csv`, empty: "No pipelines yet.",
      }), h("div", { class: "actions" }, newPipeline)),
      section("Ontologies", dataTable({
        caption: "Ontologies",
        columns: [
          { key: "name", label: "Name", render: (o) => h("a", { href: `#/projects/${project}/ontologies/${o.name}` }, o.name) },
          { key: "version", label: "Version" }, { key: "class_count", label: "Classes" }, { key: "open_proposals", label: "Proposals" },
        ],
        rows: ontologies.items, filename: `${project}-ontologies.csv`, empty: "None yet: an ingestion run extracts one.",
      }), h("div", { class: "actions" }, importOntology)),
      section("Tables", dataTable({
        caption: "Tables",
        columns: [
          { key: "name", label: "Name", render: (t) => h("a", { href: `#/projects/${project}/tables/${t.name}` }, t.name) },
          { key: "kind", label: "Kind" }, { key: "rows", label: "Rows" },
        ],
        rows: tables.items, filename: `${project}-tables.csv`, empty: "No tables yet.",
      })),
      section("Recent runs", dataTable({
        caption: "Runs of this project (pipelines, extraction, loads, exports)",
        columns: [
          { key: "name", label: "Run" }, { key: "kind", label: "Kind" },
          { key: "state", label: "State", render: (r) => h("span", { class: `state ${r.state.toLowerCase()}` }, r.state_name || r.state) },
          { key: "start_time", label: "Started", render: (r) => fmtTime(r.start_time) },
        ],
        rows: runs.items, filename: `${project}-runs.csv`, empty: "No runs yet.",
      })),
      section("Digital twin", h("p", {}, twinOps.length ? "Query the twin with SPARQL, browse its entities and ask what-if questions with scenarios." : "Twin operations are not available on this server yet."),
        h("a", { href: `#/projects/${project}/twins`, class: "button secondary" }, "Open twin")),
      has("list_models") ? section("Models", h("p", {}, "Train models from the ontology, read their cards, predict."),
        h("a", { href: `#/projects/${project}/models`, class: "button secondary" }, "Open models")) : null,
      has("list_alerts") ? section("Anomalies and alerts", h("p", {}, "Run anomaly detection; acknowledge and resolve the alerts it raises."),
        h("a", { href: `#/projects/${project}/alerts`, class: "button secondary" }, "Open alerts")) : null,
    ));
}

function projectPageReload() {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
