// A table of a project's storage: its columns, a query with filters and ordering (cursor
// paged) optionally as of an instant, CSV download of the loaded rows, a server-side export of
// the whole result, and the table's history (each change can be read as it was).
import { ApiError, call, operation, request } from "../lib/api.js";
import { append, download, fmtTime, h, problemView, replace } from "../lib/dom.js";
import { dataTable } from "../components/table.js";

const OPS = ["eq", "ne", "lt", "le", "gt", "ge", "in", "like", "is_null"];

function parseValue(op, text) {
  if (op === "is_null") return text.trim() !== "false";
  if (op === "in") return text.split(",").map((s) => parseValue("eq", s));
  const t = text.trim();
  if (t !== "" && !Number.isNaN(Number(t))) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  return t;
}

export async function tablePage(main, { project, table }, _query, shell) {
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], [`Table ${table}`, `/projects/${project}/tables/${table}`]]);
  const tables = await call("list_project_tables", { project });
  const info = tables.items.find((t) => t.name === table);
  if (!info) throw new Error(`No table ${table} in ${project}.`);
  const columnNames = info.columns.map((c) => c.name || c);
  let filterCount = 0;
  const filters = h("div", { class: "filters" });
  function addFilter() {
    const i = ++filterCount;
    const col = h("select", { id: `fc${i}`, "aria-label": `Filter ${i} column` }, columnNames.map((c) => h("option", { value: c }, c)));
    const op = h("select", { id: `fo${i}`, "aria-label": `Filter ${i} operator` }, OPS.map((o) => h("option", { value: o }, o)));
    const value = h("input", { id: `fv${i}`, type: "text", "aria-label": `Filter ${i} value` });
    const remove = h("button", { type: "button", class: "link", "aria-label": `Remove filter ${i}` }, "Remove");
    const row = h("div", { class: "filter-row", dataset: { filter: "1" } }, col, op, value, remove);
    remove.addEventListener("click", () => row.remove());
    filters.append(row);
    col.focus();
  }
  const orderBy = h("input", { id: "order-by", type: "text", placeholder: "e.g. -total, name" });
  const limit = h("input", { id: "limit", type: "number", min: "1", max: "10000", value: "100" });
  const queryOp = await operation("query_project_table");
  const hasAsOf = Boolean(queryOp?.bodySchema?.properties?.as_of);
  const asOf = h("input", { id: "as-of", type: "text", size: "28", placeholder: "e.g. 2026-01-31T12:00:00Z", "aria-describedby": "as-of-hint" });
  const results = h("div", { "aria-live": "polite" });
  const where = () => [...filters.querySelectorAll("[data-filter]")].map((row) => {
    const [col, op, value] = row.querySelectorAll("select, input");
    return { column: col.value, op: op.value, value: parseValue(op.value, value.value) };
  });
  const body = () => ({
    where: where(), order_by: orderBy.value.split(",").map((s) => s.trim()).filter(Boolean), limit: Number(limit.value) || 100,
    ...(hasAsOf && asOf.value.trim() ? { as_of: asOf.value.trim() } : {}),
  });
  const run = h("button", { type: "submit" }, "Run query");
  const exportButton = h("button", { type: "button", class: "secondary" }, "Export CSV (all rows)");
  const form = h("form", { class: "card", "aria-label": "Query" },
    h("h2", {}, "Query"), filters,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: addFilter }, "Add filter")),
    h("div", { class: "inline-form" }, h("label", { for: "order-by" }, "Order by"), orderBy, h("label", { for: "limit" }, "Page size"), limit),
    hasAsOf ? h("div", { class: "inline-form" }, h("label", { for: "as-of" }, "As of"), asOf,
      h("small", { id: "as-of-hint", class: "hint" }, "Read the table as it was at this instant (ISO 8601 with a zone); empty: now.")) : null,
    h("div", { class: "actions" }, run, exportButton));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = body();
    const page = await shell.act(run, () => call("query_project_table", { project, table, ...q }));
    if (!page) return;
    replace(results, dataTable({
      caption: q.as_of ? `Rows of ${table} as of ${q.as_of}` : `Rows of ${table}`, rows: page.rows, nextCursor: page.next_cursor, filename: `${table}.csv`, empty: "No rows match.",
      columns: (page.rows.length ? Object.keys(page.rows[0]) : columnNames).map((k) => ({ key: k, label: k })),
      loadMore: async (cursor) => {
        const next = await shell.act(null, () => call("query_project_table", { project, table, ...q, cursor }));
        return next ? { rows: next.rows, nextCursor: next.next_cursor } : null;
      },
    }));
  });
  exportButton.addEventListener("click", async () => {
    // The export runs as a Prefect flow: start it, follow the run, then fetch the file.
    const started = await shell.act(exportButton, () => call("export_project_table", { project, table, format: "csv", where: where() }));
    if (!started) return;
    shell.toast(`Export ${started.flow_run_name} started.`);
    exportButton.disabled = true;
    try {
      let run = null;
      for (let i = 0; i < 600 && !run?.final; i++) {
        if (run) await new Promise((resolve) => setTimeout(resolve, 1000));
        run = await call("get_project_run", { project, run_id: started.flow_run_id });
      }
      if (run.state !== "COMPLETED") { shell.toast(`Export ${run.state_name || run.state}: ${run.message || ""}`, "error"); return; }
      const file = await request("GET", `/projects/${encodeURIComponent(project)}/files/content`, { query: { path: started.path } });
      if (file?.text !== undefined && file.text !== null) download(`${table}.csv`, file.text, "text/csv");
      shell.toast(`Exported to ${started.path}.`);
    } catch (error) {
      shell.showError(error);
    } finally {
      exportButton.disabled = false;
    }
  });
  const history = await historySection(project, table, (at) => { asOf.value = at; form.requestSubmit(); });
  append(main, [h("h1", {}, `Table ${table}`),
    h("p", { class: "lead" }, `${info.kind} table, ${info.rows} rows${info.primary_key?.length ? `, key ${info.primary_key.join(", ")}` : ""}.`),
    h("details", { class: "card" }, h("summary", {}, "Columns"),
      dataTable({ caption: "Columns", rows: info.columns.map((c) => (typeof c === "string" ? { name: c } : c)), filename: `${table}-columns.csv` })),
    history, form, results]);
  form.requestSubmit();
}

/** The table's committed changes, newest first (folded like the columns, above the query so the
 * results stay last); "Read as of" shows the table as it was then. */
async function historySection(project, table, readAsOf) {
  if (!(await operation("get_table_history"))) return null;
  const section = h("details", { class: "card", id: "table-history" }, h("summary", {}, "History"));
  try {
    const history = await call("get_table_history", { project, table });
    section.append(dataTable({
      caption: `Changes of ${table}, newest first`, rows: history.items, filename: `${table}-history.csv`, empty: "No changes recorded.",
      columns: [
        { key: "version", label: "Version" }, { key: "at", label: "At", render: (c) => fmtTime(c.at) },
        { key: "operation", label: "Operation" }, { key: "rows", label: "Rows" }, { key: "run_id", label: "Run" },
        { key: "read", label: "Read", sortable: false, render: (c) => h("button", { type: "button", class: "secondary", "aria-label": `Read as of version ${c.version}`, onclick: () => readAsOf(c.at) }, "Read as of") },
      ],
    }));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    section.append(problemView(error.problem));  // e.g. this storage keeps no history
  }
  return section;
}
