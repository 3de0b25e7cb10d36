// Digital twin: a SPARQL console (results table, CSV download) against the twin's SPARQL
// endpoint when the API has it, plus every twin operation as a generated form.
import { ApiError, operations, request } from "../lib/api.js";
import { h, problemView } from "../lib/dom.js";
import { codeEditor } from "../components/editor.js";
import { dataTable } from "../components/table.js";
import { operationPanel } from "./operations.js";

const SPARQL_PATH = /^\/projects\/\{project\}\/twins\/\{[a-z_]+\}\/sparql$/;

export async function twinPage(main, { project }, _query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], ["Twin", `/projects/${project}/twins`]]);
  const ops = await operations();
  const sparql = ops.find((op) => op.method === "POST" && SPARQL_PATH.test(op.path));
  const twinOps = ops.filter((op) => op.tags.some((t) => /twin/i.test(t)) && op !== sparql);
  main.append(h("h1", {}, "Digital twin"));
  if (!sparql) {
    main.append(h("p", { class: "card", id: "twin-unavailable" }, "The digital twin is not available yet on this server: its SPARQL endpoint is not in the API."));
  } else {
    let twins = [];
    const lister = ops.find((op) => op.id === "list_twins");
    if (lister) {
      try {
        const listed = await request("GET", lister.path.replace("{project}", encodeURIComponent(project)));
        twins = (listed.items || listed || []).map((t) => t.name || t.id || String(t));
      } catch (error) { if (!(error instanceof ApiError)) throw error; }
    }
    const twinInput = h("input", { id: "twin-name", type: "text", list: "twin-names", value: twins[0] || "" });
    const editor = codeEditor({ label: "SPARQL query", language: "sparql", rows: 8, value: "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 25" });
    const out = h("div", { "aria-live": "polite" });
    const run = h("button", { type: "button" }, "Run query");
    run.addEventListener("click", async () => {
      out.replaceChildren();
      const twinParam = sparql.path.match(/\{([a-z_]+)\}\/sparql$/)[1];
      const path = sparql.path.replace("{project}", encodeURIComponent(project)).replace(`{${twinParam}}`, encodeURIComponent(twinInput.value.trim()));
      run.disabled = true;
      try {
        const result = await request("POST", path, { body: editor.value(), contentType: "application/sparql-query", accept: "application/sparql-results+json, application/problem+json" });
        const data = typeof result === "string" ? JSON.parse(result) : result;
        if (typeof data.boolean === "boolean") { out.append(h("p", {}, `ASK: ${data.boolean}`)); return; }
        const vars = data.head?.vars || [];
        const rows = (data.results?.bindings || []).map((b) => Object.fromEntries(vars.map((v) => [v, b[v]?.value ?? ""])));
        out.append(dataTable({ caption: "SPARQL results", columns: vars.map((v) => ({ key: v, label: v })), rows, filename: "sparql-results.csv", empty: "No results." }));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        out.append(problemView(error.problem));
        const located = (error.problem.errors || []).filter((e) => e.line);
        editor.setDiagnostics(located.length ? located : error.problem.line ? [{ line: error.problem.line, column: error.problem.column, message: error.problem.detail }] : []);
      } finally {
        run.disabled = false;
      }
    });
    main.append(h("section", { class: "card", "aria-label": "SPARQL console" }, h("h2", {}, "SPARQL console"),
      h("div", { class: "field" }, h("label", { for: "twin-name" }, "Twin"), twinInput, h("datalist", { id: "twin-names" }, twins.map((t) => h("option", { value: t })))),
      editor.element, h("div", { class: "actions" }, run), out));
  }
  if (twinOps.length) main.append(h("h2", {}, "Twin operations"), twinOps.map((op) => operationPanel(op, shell, { project })));
}
