// An ontology: graph of classes and relationships, class and property editing (rename
// included), versions with diff, proposals accepted in whole or in part, import and export,
// and extraction.
import { call, prefectRunUrl } from "../lib/api.js";
import { download, fmtTime, h, replace } from "../lib/dom.js";
import { graphView } from "../components/graph.js";
import { dataTable } from "../components/table.js";
import { confirmDialog } from "../components/dialog.js";
import { codeEditor } from "../components/editor.js";
import { formDialog } from "./projects.js";

export const localName = (iri) => (iri || "").split(/[#/]/).pop();
const labelOf = (el) => el.label || localName(el.iri);

// The newest extract-ontology run (get_ontology's latest_extraction): where it is, how it ended.
function extractionRun(run, unavailable) {
  if (!run) return h("p", {}, unavailable || "");
  const how = run.final ? (run.error ? `failed: ${run.error}` : run.outcome || run.state) : run.state.toLowerCase();
  const when = fmtTime(run.finished || run.started || run.created);
  const cause = run.started_by_run ? `, started by ingestion run ${run.started_by_run}` : run.trigger ? `, started by ${run.trigger}` : "";
  return h("p", {}, `Latest extraction run ${run.run_id}: ${how} (${when}${cause}).${run.message && !run.error ? ` ${run.message}` : ""}`);
}

export async function ontologyPage(main, { project, name }, query, shell) {
  const base = `/projects/${project}/ontologies/${name}`;
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], [`Ontology ${name}`, base]]);
  const [onto, versions, proposals] = await Promise.all([
    call("get_ontology", { project, name }),
    call("list_ontology_versions", { project, name }),
    call("list_ontology_proposals", { project, name }),
  ]);
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  const refs = { project, name, expected_version: onto.version };
  const hidden = ["project", "name", "ref", "expected_version"];
  async function edit(id, title, values = {}, extraHidden = []) {
    const done = await formDialog(shell, id, { title, values: { ...refs, ...values }, hidden: [...hidden, ...extraHidden], submitLabel: "Save" });
    if (done) { shell.toast(`Saved as version ${done.version?.version ?? done.version}.`); reload(); }
  }

  const details = h("section", { class: "card", "aria-label": "Selected class", id: "class-panel" },
    h("h2", {}, "Class"), h("p", {}, "Choose a class in the graph (Tab to a node, Enter)."));
  function showClass(cls) {
    const props = onto.datatype_properties.filter((p) => p.domain.includes(cls.iri));
    const rels = onto.object_properties.filter((p) => p.domain.includes(cls.iri));
    const propButton = (p, label, fn) => h("button", { type: "button", class: "link", onclick: fn, "aria-label": `${label} ${labelOf(p)}` }, label);
    const propColumns = (kind) => [
      { key: "name", label: "Property", render: (p) => labelOf(p) },
      { key: "range", label: kind === "datatype" ? "Type" : "Target", render: (p) => [].concat(p.range ?? []).map(localName).join(", ") },
      { key: "key", label: "Key", render: (p) => (cls.key || []).includes(p.iri) ? "key" : "" },
      { key: "actions", label: "Actions", sortable: false, render: (p) => h("span", { class: "row-actions" },
        propButton(p, "Rename", () => edit("rename_ontology_property", `Rename ${labelOf(p)}`, { ref: p.iri })),
        propButton(p, "Edit", () => edit("update_ontology_property", `Edit ${labelOf(p)}`, { ref: p.iri, label: p.label, comment: p.comment })),
        propButton(p, "Delete", async () => {
          if (!(await confirmDialog(`Delete ${labelOf(p)}?`, "The property is removed in a new version.", "Delete property"))) return;
          if (await shell.act(null, () => call("delete_ontology_property", { ...refs, ref: p.iri }))) reload();
        })) },
    ];
    replace(details, 
      h("h2", {}, `Class ${labelOf(cls)}`),
      cls.comment ? h("p", {}, cls.comment) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "IRI"), h("dd", {}, h("code", {}, cls.iri)),
        h("dt", {}, "Key"), h("dd", {}, (cls.key || []).map(localName).join(", ") || "—"),
        h("dt", {}, "Superclasses"), h("dd", {}, (cls.superclasses || []).map(localName).join(", ") || "—"),
        cls.confidence != null ? [h("dt", {}, "Confidence"), h("dd", {}, `${Math.round(cls.confidence * 100)} %${cls.source ? ` (from ${cls.source})` : ""}`)] : null),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => edit("update_ontology_class", `Edit class ${labelOf(cls)}`, { ref: cls.iri, label: cls.label, comment: cls.comment }) }, "Edit class"),
        h("button", { type: "button", class: "secondary", onclick: () => edit("rename_ontology_class", `Rename class ${labelOf(cls)}`, { ref: cls.iri }) }, "Rename class"),
        h("button", { type: "button", class: "secondary", onclick: () => edit("add_ontology_property", `Add a property to ${labelOf(cls)}`, { domain: [localName(cls.iri)] }) }, "Add property"),
        h("button", { type: "button", class: "secondary", onclick: () => edit("set_ontology_key", `Key of ${labelOf(cls)}`, { class_ref: cls.iri, properties: (cls.key || []).map(localName) }, ["class_ref"]) }, "Set key"),
        h("button", { type: "button", class: "danger", onclick: async () => {
          if (!(await confirmDialog(`Delete class ${labelOf(cls)}?`, "The class is removed in a new version.", "Delete class"))) return;
          if (await shell.act(null, () => call("delete_ontology_class", { ...refs, ref: cls.iri }))) reload();
        } }, "Delete class")),
      h("h3", {}, "Attributes"),
      dataTable({ caption: `Attributes of ${labelOf(cls)}`, columns: propColumns("datatype"), rows: props, filename: `${localName(cls.iri)}-attributes.csv`, empty: "No attributes." }),
      h("h3", {}, "Relationships"),
      dataTable({ caption: `Relationships of ${labelOf(cls)}`, columns: propColumns("object"), rows: rels, filename: `${localName(cls.iri)}-relationships.csv`, empty: "No relationships." }));
  }

  const nodes = onto.classes.map((c) => ({ id: c.iri, label: labelOf(c), detail: `${onto.datatype_properties.filter((p) => p.domain.includes(c.iri)).length} attributes`, cls: c }));
  const links = [];
  for (const p of onto.object_properties) for (const d of p.domain) for (const r of p.range) links.push({ source: d, target: r, label: labelOf(p) });
  for (const c of onto.classes) for (const sup of c.superclasses || []) links.push({ source: c.iri, target: sup, label: "subClassOf", kind: "sub" });

  // versions, diff
  const diffOut = h("pre", { class: "diff", tabindex: "0", "aria-label": "Diff" }, "Choose two versions.");
  const versionOptions = () => versions.items.map((v) => h("option", { value: v.version }, `v${v.version} (${v.status})`));
  const fromSel = h("select", { id: "diff-from" }, versionOptions());
  const toSel = h("select", { id: "diff-to" }, versionOptions());
  if (versions.items.length > 1) fromSel.value = String(versions.items[1].version);
  const diffButton = h("button", { type: "button", class: "secondary" }, "Show diff");
  diffButton.addEventListener("click", async () => {
    const diff = await shell.act(diffButton, () => call("diff_ontology_versions", { project, name, from_version: Number(fromSel.value), to_version: Number(toSel.value) }));
    if (diff) diffOut.textContent = diff.text || "No differences.";
  });
  const latestExtraction = versions.items.find((v) => /extract/i.test(v.origin));

  // proposals
  const proposalBox = h("section", { class: "card", "aria-label": "Proposals" }, h("h2", {}, "Proposals"));
  const open = proposals.items.filter((p) => p.status === "proposed" || p.status === "open" || p.status === "pending");
  if (!open.length) proposalBox.append(h("p", {}, "No open proposals. Re-extraction after new ingestion proposes changes here."));
  for (const proposal of open) {
    const boxes = (proposal.changes || []).map((c, i) => {
      const id = `chg-${proposal.version}-${i}`;
      return { id: c.id, el: h("div", { class: "field check" }, h("input", { type: "checkbox", id, checked: true }), h("label", { for: id }, c.summary)) };
    });
    const acceptSome = h("button", { type: "button" }, "Accept selected");
    const acceptAll = h("button", { type: "button", class: "secondary" }, "Accept all");
    const reject = h("button", { type: "button", class: "danger" }, "Reject");
    const accept = async (button, changes) => {
      if (await shell.act(button, () => call("accept_ontology_proposal", { project, name, version: proposal.version, ...(changes ? { changes } : {}) }))) { shell.toast(`Proposal ${proposal.version} accepted.`); reload(); }
    };
    acceptSome.addEventListener("click", () => accept(acceptSome, boxes.filter((b) => b.el.querySelector("input").checked).map((b) => b.id)));
    acceptAll.addEventListener("click", () => accept(acceptAll, null));
    reject.addEventListener("click", async () => {
      if (await shell.act(reject, () => call("reject_ontology_proposal", { project, name, version: proposal.version }))) { shell.toast("Proposal rejected."); reload(); }
    });
    proposalBox.append(h("fieldset", { class: "proposal" }, h("legend", {}, `Proposal v${proposal.version} — ${proposal.message || proposal.origin}`),
      boxes.map((b) => b.el), h("div", { class: "actions" }, acceptSome, acceptAll, reject)));
  }

  // import / export / extraction
  const importEditor = codeEditor({ label: "Ontology document to import as a new version", language: "turtle", rows: 8 });
  const fileInput = h("input", { type: "file", id: "onto-file", accept: ".ttl,.rdf,.owl,.nt,.jsonld,.xml" });
  fileInput.addEventListener("change", async () => { const f = fileInput.files[0]; if (f) importEditor.setValue(await f.text()); });
  const importButton = h("button", { type: "button", class: "secondary" }, "Import as new version");
  importButton.addEventListener("click", async () => {
    const done = await shell.act(importButton, () => call("upload_ontology_version", { project, name, content: importEditor.value(), message: "imported in the web UI" }));
    if (done) { shell.toast(`Imported as version ${done.version?.version ?? done.version}.`); reload(); }
  });
  const format = h("select", { id: "export-format" }, ["turtle", "xml", "nt", "json-ld", "owl-xml"].map((f) => h("option", { value: f }, f)));
  const exportButton = h("button", { type: "button", class: "secondary" }, "Export");
  exportButton.addEventListener("click", async () => {
    const out = await shell.act(exportButton, () => call("export_ontology", { project, name, format: format.value }));
    if (out) download(`${name}-v${out.version}.${{ turtle: "ttl", xml: "rdf", nt: "nt", "json-ld": "jsonld", "owl-xml": "owl" }[format.value]}`, out.content, out.media_type);
  });
  const extract = h("button", { type: "button", class: "secondary" }, "Extract again");
  const extractOut = h("p", { "aria-live": "polite" });
  extract.addEventListener("click", async () => {
    const started = await shell.act(extract, () => call("run_ontology_extraction", { project, name }));
    if (!started) return;
    const link = await prefectRunUrl(started.flow_run_id);
    replace(extractOut, `Extraction ${started.flow_run_name} started; its result arrives as a proposal. `, link ? h("a", { href: link, target: "_blank", rel: "noopener" }, "Follow it in the Prefect UI") : "");
  });
  const addClass = h("button", { type: "button", class: "secondary" }, "Add class");
  addClass.addEventListener("click", () => edit("add_ontology_class", "Add a class"));

  main.append(
    h("div", { class: "page-head" }, h("h1", {}, `Ontology ${name}`), h("div", { class: "actions" }, addClass, extract)),
    h("p", { class: "lead" }, `Version ${onto.version}: ${onto.class_count} classes, ${onto.property_count} properties, ${onto.open_proposals} open proposals. `,
      latestExtraction ? `Latest extraction: version ${latestExtraction.version} (${latestExtraction.status}, ${fmtTime(latestExtraction.created_at)}).` : "No extraction yet."),
    extractionRun(onto.latest_extraction, onto.extraction_unavailable),
    extractOut,
    h("div", { class: "grid wide-first" },
      h("section", { class: "card", "aria-label": "Graph" }, h("h2", {}, "Classes and relationships"),
        nodes.length ? graphView({ label: `Classes of ${name}`, nodes, links, onSelect: (n) => showClass(n.cls) }) : h("p", {}, "No classes yet.")),
      details),
    proposalBox,
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-label": "Versions" }, h("h2", {}, "Versions"),
        dataTable({ caption: "Versions", rows: versions.items, filename: `${name}-versions.csv`, columns: [
          { key: "version", label: "Version" }, { key: "status", label: "Status" }, { key: "origin", label: "Origin" },
          { key: "author", label: "Author" }, { key: "message", label: "Message" }, { key: "created_at", label: "Created", render: (v) => fmtTime(v.created_at) }] }),
        h("div", { class: "inline-form" }, h("label", { for: "diff-from" }, "From"), fromSel, h("label", { for: "diff-to" }, "to"), toSel, diffButton), diffOut),
      h("section", { class: "card", "aria-label": "Import and export" }, h("h2", {}, "Import and export"),
        h("div", { class: "inline-form" }, h("label", { for: "export-format" }, "Format"), format, exportButton),
        h("div", { class: "field" }, h("label", { for: "onto-file" }, "Read a file"), fileInput), importEditor.element,
        h("div", { class: "actions" }, importButton))));
  const selected = query.class && onto.classes.find((c) => localName(c.iri) === query.class);
  if (selected) showClass(selected);
}
