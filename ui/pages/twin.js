// Digital twin: pick or create a twin, a SPARQL console (results table, CSV download) whose
// options (row cap, scenario, as_of, …) are generated from query_twin's schema, the twin's
// what-if scenarios with their edits and diff, and every other twin operation as a form.
import { ApiError, call, operation, operations } from "../lib/api.js";
import { append, h, problemView, replace } from "../lib/dom.js";
import { codeEditor } from "../components/editor.js";
import { operationForm } from "../components/form.js";
import { dataTable } from "../components/table.js";
import { confirmDialog } from "../components/dialog.js";
import { operationPanel } from "./operations.js";
import { formDialog } from "./projects.js";

const SCENARIO_OPS = ["create_scenario", "list_scenarios", "get_scenario", "delete_scenario", "edit_scenario", "diff_scenario"];
const PAGE_OPS = new Set(["list_twins", "create_twin", "query_twin", ...SCENARIO_OPS]);

/** A query_twin answer as a results table, a boolean or Turtle. */
function answerView(answer) {
  if (answer.type === "ASK") return h("p", { id: "ask-answer" }, `ASK: ${answer.boolean}`);
  if (answer.turtle !== null && answer.turtle !== undefined) return h("pre", { class: "json", tabindex: "0", "aria-label": "Query result (Turtle)" }, answer.turtle);
  const vars = answer.vars || [];
  const rows = (answer.bindings || []).map((b) => Object.fromEntries(vars.map((v) => [v, b[v]?.value ?? ""])));
  return h("div", {},
    h("p", { class: "hint" }, `${rows.length} row${rows.length === 1 ? "" : "s"} in ${answer.elapsed_ms} ms${answer.truncated ? ", cut at the row cap" : ""}${answer.ran_as_sql ? ", run as SQL" : ""}.`),
    dataTable({ caption: "SPARQL results", columns: vars.map((v) => ({ key: v, label: v })), rows, filename: "sparql-results.csv", empty: "No results." }));
}

function sparqlConsole(queryOp, project, twin) {
  const editor = codeEditor({ label: "SPARQL query", language: "sparql", rows: 8, value: "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 25" });
  const out = h("div", { "aria-live": "polite" });
  const form = operationForm(queryOp, {
    values: { project, twin }, hidden: ["project", "twin", "query"], submitLabel: "Run query",
    onSubmit: async (options) => {
      out.replaceChildren();
      try {
        const answer = await call("query_twin", { ...options, project, twin, query: editor.value() });
        editor.setDiagnostics([]);
        out.append(answerView(answer));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        out.append(problemView(error.problem));
        const located = (error.problem.errors || []).filter((e) => e.line);
        editor.setDiagnostics(located.length ? located : error.problem.line ? [{ line: error.problem.line, column: error.problem.column, message: error.problem.detail }] : []);
      }
    },
  });
  return h("section", { class: "card", "aria-label": "SPARQL console" }, h("h2", {}, "SPARQL console"), editor.element, form, out);
}

const tripleColumns = [{ key: "subject", label: "Subject" }, { key: "predicate", label: "Predicate" }, { key: "object", label: "Object" }];

function diffView(diff) {
  return h("div", { class: "grid", id: "scenario-diff" },
    h("div", {}, h("h4", { class: "added" }, `Added (${diff.added.length})`),
      dataTable({ caption: `Triples the scenario adds against ${diff.against}`, columns: tripleColumns, rows: diff.added, filename: `${diff.scenario}-added.csv`, empty: "None." })),
    h("div", {}, h("h4", { class: "removed" }, `Removed (${diff.removed.length})`),
      dataTable({ caption: `Triples the scenario removes against ${diff.against}`, columns: tripleColumns, rows: diff.removed, filename: `${diff.scenario}-removed.csv`, empty: "None." })));
}

/** The scenarios of one twin: list, create, open (edits, add an edit, diff), delete. */
async function scenariosSection(project, twin, shell) {
  const box = h("div", {});
  const detail = h("div", { "aria-live": "polite" });
  const create = h("button", { type: "button" }, "New scenario");
  const diffOp = await operation("diff_scenario");

  async function open(name) {
    const scenario = await shell.act(null, () => call("get_scenario", { project, twin, scenario: name }));
    if (!scenario) return;
    const addEdit = h("button", { type: "button" }, "Add edit");
    const remove = h("button", { type: "button", class: "danger" }, "Delete scenario");
    const diffOut = h("div", {});
    addEdit.addEventListener("click", async () => {
      const done = await formDialog(shell, "edit_scenario", { title: `Edit scenario ${name}`, values: { project, twin, scenario: name }, hidden: ["project", "twin", "scenario"], submitLabel: "Add edit" });
      if (done) { shell.toast(`Edit ${done.edits.length} added to ${name}.`); await open(name); }
    });
    remove.addEventListener("click", async () => {
      if (!(await confirmDialog(`Delete scenario ${name}?`, "The scenario and its edits are deleted; the twin's data never held them.", "Delete scenario"))) return;
      const done = await shell.act(remove, () => call("delete_scenario", { project, twin, scenario: name }));
      if (done) { shell.toast(`Scenario ${name} deleted (${done.edits_removed} edits).`); detail.replaceChildren(); await refresh(); }
    });
    const diffForm = diffOp ? operationForm(diffOp, {
      values: { project, twin, scenario: name }, hidden: ["project", "twin", "scenario"], submitLabel: "Show diff",
      onSubmit: async (input) => {
        const diff = await shell.act(null, () => call("diff_scenario", input));
        if (diff) replace(diffOut, diffView(diff));
      },
    }) : null;
    replace(detail, h("section", { class: "card", "aria-label": `Scenario ${name}` },
      h("h3", {}, `Scenario ${name}`), scenario.description ? h("p", {}, scenario.description) : null,
      dataTable({
        caption: `Edits of ${name}`, rows: scenario.edits, filename: `${name}-edits.csv`, empty: "No edits yet: add one.",
        columns: [
          { key: "seq", label: "#" }, { key: "kind", label: "Kind" }, { key: "entity", label: "Entity" }, { key: "property", label: "Property" },
          { key: "old_value", label: "Old value" }, { key: "new_value", label: "New value" }, { key: "author", label: "Author" }, { key: "rationale", label: "Rationale" },
        ],
      }),
      h("div", { class: "actions" }, addEdit, remove), diffForm, diffOut));
    if (scenario.edits.length) diffForm?.requestSubmit();
  }

  async function refresh() {
    const listed = await shell.act(null, () => call("list_scenarios", { project, twin }));
    if (!listed) return;
    replace(box, dataTable({
      caption: `Scenarios of ${twin}`, rows: listed.items, filename: `${twin}-scenarios.csv`, empty: "No scenarios yet.",
      columns: [
        { key: "name", label: "Name", render: (s) => h("button", { type: "button", class: "link", onclick: () => open(s.name) }, `Open ${s.name}`) },
        { key: "description", label: "Question" }, { key: "author", label: "Author" }, { key: "expires_at", label: "Expires" },
      ],
    }));
  }
  create.addEventListener("click", async () => {
    const made = await formDialog(shell, "create_scenario", { title: "New what-if scenario", values: { project, twin }, hidden: ["project", "twin"], submitLabel: "Create scenario" });
    if (made) { shell.toast(`Scenario ${made.name} created.`); await refresh(); await open(made.name); }
  });
  await refresh();
  return h("section", { class: "card", "aria-label": "Scenarios" }, h("h2", {}, "What-if scenarios"),
    h("p", { class: "hint" }, "A scenario overlays edits on the twin as delta rows; the base data is never changed."),
    box, h("div", { class: "actions" }, create), detail);
}

export async function twinPage(main, { project }, query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], ["Twin", `/projects/${project}/twins`]]);
  const ops = await operations();
  const has = (id) => ops.some((op) => op.id === id);
  main.append(h("h1", {}, "Digital twin"));
  if (!has("list_twins") || !has("query_twin")) {
    main.append(h("p", { class: "card", id: "twin-unavailable" }, "The digital twin is not available yet on this server."));
    return;
  }
  const twins = (await call("list_twins", { project })).items;
  const twin = query.twin || twins[0]?.name || null;
  const create = h("button", { type: "button", class: twins.length ? "secondary" : null }, "New twin");
  create.addEventListener("click", async () => {
    const made = await formDialog(shell, "create_twin", { title: "New twin", values: { project }, hidden: ["project"], submitLabel: "Create twin" });
    if (made) { shell.toast(`Twin ${made.name} created.`); shell.go(`/projects/${project}/twins?twin=${encodeURIComponent(made.name)}`); }
  });
  const picker = h("select", { id: "twin-pick" }, twins.map((t) => h("option", { value: t.name, selected: t.name === twin || null }, t.name)));
  picker.addEventListener("change", () => shell.go(`/projects/${project}/twins?twin=${encodeURIComponent(picker.value)}`));
  main.append(h("div", { class: "inline-form" },
    twins.length ? [h("label", { for: "twin-pick" }, "Twin"), picker] : h("p", { id: "no-twin" }, "No twin yet: a twin reads the project's data through its ontologies, nothing is copied."),
    create));
  if (!twin) return;
  main.append(sparqlConsole(ops.find((op) => op.id === "query_twin"), project, twin));
  if (SCENARIO_OPS.every(has)) main.append(await scenariosSection(project, twin, shell));
  const rest = ops.filter((op) => op.tags.includes("twins") && !PAGE_OPS.has(op.id));
  if (rest.length) append(main, [h("h2", {}, "Twin operations"), rest.map((op) => operationPanel(op, shell, { project, twin }))]);
}
