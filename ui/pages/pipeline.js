// A pipeline: YAML editor checked by validate_pipeline as you type, save, run, versions,
// runs (with a duration chart) and the webhook.
import { ApiError, call } from "../lib/api.js";
import { fmtDuration, fmtTime, h, problemView, replace } from "../lib/dom.js";
import { codeEditor } from "../components/editor.js";
import { dataTable } from "../components/table.js";
import { barChart } from "../components/chart.js";
import { confirmDialog, openDialog } from "../components/dialog.js";

const TEMPLATE = (name) => `name: ${name}
type: ingestion
steps:
  - name: save
    action: storage.write
    with:
      source: records
      rows: [{id: 1, name: "Ada"}, {id: 2, name: "Bo"}]
`;

/** validate_pipeline's issues as editor diagnostics. */
export async function pipelineDiagnostics(text) {
  const report = await call("validate_pipeline", { yaml: text });
  return report.issues.map((i) => ({ line: i.line, column: i.column, path: i.path, message: i.message }));
}

export async function pipelinePage(main, { project, name }, _query, shell) {
  const base = `/projects/${project}/pipelines/${name}`;
  shell.crumbs([["Projects", "/"], [project, `/projects/${project}`], [name, base]]);
  let pipeline = null;
  try {
    pipeline = await call("get_pipeline", { project, name });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  const editor = codeEditor({ label: "Pipeline YAML", language: "yaml", value: pipeline?.yaml ?? TEMPLATE(name), validate: pipelineDiagnostics });
  const message = h("input", { id: "save-message", type: "text", maxlength: "1000" });
  const saveOut = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "button" }, "Save");
  const run = h("button", { type: "button", class: "secondary", disabled: pipeline ? null : true }, "Run pipeline");
  const webhook = h("button", { type: "button", class: "secondary", disabled: pipeline ? null : true }, pipeline?.webhook_enabled ? "Rotate webhook secret" : "Create webhook");
  const remove = h("button", { type: "button", class: "danger", disabled: pipeline ? null : true }, "Delete");

  save.addEventListener("click", async () => {
    saveOut.replaceChildren();
    try {
      save.disabled = true;
      const saved = await call("save_pipeline", { project, name, yaml: editor.value(), message: message.value });
      shell.toast(`Saved version ${saved.version}.`);
      pipeline = saved;
      run.disabled = false; webhook.disabled = false; remove.disabled = false;
      await refreshLists();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      saveOut.append(problemView(error.problem));
      const located = (error.problem.errors || []).filter((e) => e.line);
      if (located.length) editor.setDiagnostics(located.map((e) => ({ line: e.line, column: e.column, path: e.field, message: e.message })));
    } finally {
      save.disabled = false;
    }
  });
  run.addEventListener("click", async () => {
    const started = await shell.act(run, () => call("run_pipeline", { project, name, parameters: {} }));
    if (started) { shell.toast(`Run ${started.flow_run_name} started.`); shell.go(`${base}/runs/${started.flow_run_id}`); }
  });
  webhook.addEventListener("click", async () => {
    const made = await shell.act(webhook, () => call("create_pipeline_webhook", { project, name }));
    if (!made) return;
    const url = new URL(made.url, location.origin).href;
    openDialog({ title: "Webhook", body: h("div", {},
      h("p", {}, "Outside systems start a run by POSTing the secret to this URL. The secret is shown only now."),
      h("dl", { class: "facts" }, h("dt", {}, "URL"), h("dd", {}, h("code", {}, url)), h("dt", {}, "Secret"), h("dd", {}, h("code", { class: "secret" }, made.secret))),
      h("pre", {}, `curl -X POST ${url} -H 'Content-Type: application/json' -d '{"secret": "…", "parameters": {}}'`)) });
  });
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(`Delete ${name}?`, "The pipeline, its versions and its Prefect deployment are deleted.", "Delete pipeline"))) return;
    if ((await shell.act(remove, () => call("delete_pipeline", { project, name }))) !== undefined) shell.go(`/projects/${project}`);
  });

  const versionsBox = h("section", { class: "card", "aria-label": "Versions" });
  const runsBox = h("section", { class: "card", "aria-label": "Runs" });
  async function refreshLists() {
    if (!pipeline) return;
    const [versions, runs] = await Promise.all([
      call("list_pipeline_versions", { project, name }),
      call("list_pipeline_runs", { project, name, limit: 50 }),
    ]);
    replace(versionsBox, h("h2", {}, "Versions"), dataTable({
      caption: "Saved versions",
      columns: [
        { key: "version", label: "Version" }, { key: "message", label: "Message" }, { key: "created_at", label: "Saved", render: (v) => fmtTime(v.created_at) },
        { key: "open", label: "Open", sortable: false, render: (v) => h("button", { type: "button", class: "link", onclick: async () => {
          const full = await shell.act(null, () => call("get_pipeline_version", { project, name, version: v.version }));
          if (full) { editor.setValue(full.yaml); editor.validateNow(); shell.toast(`Loaded version ${v.version} into the editor (save to make it current).`); }
        } }, `Load v${v.version}`) },
      ],
      rows: versions.items, filename: `${name}-versions.csv`,
    }));
    const finished = runs.items.filter((r) => r.duration_s !== null).slice(0, 30).reverse();
    replace(runsBox, h("h2", {}, "Runs"),
      finished.length ? barChart({ label: "Run durations (oldest to newest)", unit: " s", points: finished.map((r) => ({ label: r.name, value: r.duration_s, kind: r.state.toLowerCase() })) }) : null,
      dataTable({
        caption: "Runs, newest first",
        columns: [
          { key: "name", label: "Run", render: (r) => h("a", { href: `#${base}/runs/${r.id}` }, r.name) },
          { key: "state", label: "State", render: (r) => h("span", { class: `state ${r.state.toLowerCase()}` }, r.state_name || r.state) },
          { key: "start_time", label: "Started", render: (r) => fmtTime(r.start_time) },
          { key: "duration_s", label: "Duration", render: (r) => fmtDuration(r.duration_s) },
        ],
        rows: runs.items, filename: `${name}-runs.csv`, empty: "No runs yet.",
      }));
  }
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, `Pipeline ${name}`), h("div", { class: "actions" }, run, webhook, remove)),
    pipeline ? h("p", { class: "lead" }, `${pipeline.type} pipeline, version ${pipeline.version}. `, pipeline.deployment ? `Prefect deployment ${pipeline.deployment}.` : "")
      : h("p", { class: "lead" }, "New pipeline: edit the YAML and save it."),
    h("section", { class: "card", "aria-label": "Editor" }, editor.element,
      h("div", { class: "field" }, h("label", { for: "save-message" }, "Version message (optional)"), message),
      saveOut, h("div", { class: "actions" }, save)),
    h("div", { class: "grid" }, runsBox, versionsBox));
  await Promise.all([refreshLists(), editor.validateNow()]);
}
