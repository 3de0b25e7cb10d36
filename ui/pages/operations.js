// Pages driven by the OpenAPI document: every operation of a tag becomes a generated form and
// its answer a table (lists) or a definition list. A new resource (models, anomalies, …) is
// usable here the moment its operations exist; a dedicated page is only for richer views.
import { call, operations } from "../lib/api.js";
import { append, h } from "../lib/dom.js";
import { operationForm } from "../components/form.js";
import { dataTable } from "../components/table.js";

/** Show an operation's JSON answer: a table for lists, otherwise readable JSON. */
export function resultView(result, title = "Result") {
  if (result === null || result === undefined) return h("p", {}, "Done.");
  const list = Array.isArray(result) ? result : Array.isArray(result.items) ? result.items : Array.isArray(result.rows) ? result.rows : null;
  if (list) return dataTable({ caption: title, rows: list.map((r) => (typeof r === "object" ? r : { value: r })), filename: "result.csv" });
  return h("pre", { class: "json", tabindex: "0", "aria-label": title }, typeof result === "string" ? result : JSON.stringify(result, null, 2));
}

/** One operation as a collapsible form with its result below. */
export function operationPanel(op, shell, values = {}) {
  const out = h("div", { class: "op-result", "aria-live": "polite" });
  const form = operationForm(op, {
    values, submitLabel: `${op.method} ${op.id}`,
    onSubmit: async (input) => {
      out.replaceChildren();
      const result = await shell.act(null, () => call(op.id, input));
      if (result !== undefined) out.append(resultView(result, op.summary));
    },
  });
  return h("details", { class: "card op", id: `op-${op.id}` },
    h("summary", {}, h("code", {}, op.method), " ", op.summary, " ", h("small", { class: "hint" }, op.path)),
    op.description ? h("p", { class: "hint" }, op.description.split("\n")[0]) : null, form, out);
}

export async function operationsIndex(main, _params, _query, shell) {
  shell.crumbs([["All operations", "/operations"]]);
  const ops = await operations();
  const tags = [...new Set(ops.flatMap((op) => op.tags))].sort();
  main.append(h("h1", {}, "All operations"),
    h("p", { class: "lead" }, "Every REST operation, grouped as in the API docs, with a form generated from its schema."),
    h("ul", { class: "tag-list" }, tags.map((tag) => h("li", {}, h("a", { href: `#/operations/${encodeURIComponent(tag)}` }, tag),
      ` (${ops.filter((op) => op.tags.includes(tag)).length})`))));
}

export async function operationsPage(main, { tag }, query, shell) {
  shell.crumbs([["All operations", "/operations"], [tag, `/operations/${tag}`]]);
  const ops = (await operations()).filter((op) => op.tags.includes(tag));
  append(main, [h("h1", {}, tag), ops.length ? ops.map((op) => operationPanel(op, shell, query)) : h("p", {}, "No operations with this tag on this server.")]);
}
