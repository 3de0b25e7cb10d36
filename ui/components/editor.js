// Code editor with line diagnostics: a plain <textarea> (so typing, undo, paste and screen
// readers work as usual) with a line-number gutter that marks lines with problems, and a list
// of the problems. `validate(text)` (e.g. the API's validate_pipeline) runs as the user types.
import { h } from "../lib/dom.js";

let uid = 0;

/**
 * codeEditor({label, language, value, validate(text) → [{line, column, message}], readOnly})
 * → {element, value(), setValue(text), setDiagnostics(list), validateNow()}.
 */
export function codeEditor({ label, language = "yaml", value = "", validate = null, readOnly = false, rows = 18 }) {
  const id = `editor${++uid}`;
  const gutter = h("pre", { class: "gutter", "aria-hidden": "true" });
  const area = h("textarea", {
    id, class: "code", rows, spellcheck: "false", autocapitalize: "off", autocomplete: "off",
    "aria-describedby": `${id}-diag`, readonly: readOnly || null, dataset: { language },
  });
  area.value = value;
  const list = h("ul", { class: "diagnostics", id: `${id}-diag`, "aria-live": "polite", "aria-label": "Problems" });
  let diagnostics = [];
  let timer = null;
  let seq = 0;

  function drawGutter() {
    const count = area.value.split("\n").length;
    const bad = new Set(diagnostics.map((d) => d.line));
    gutter.replaceChildren(...Array.from({ length: count }, (_, i) =>
      h("span", { class: bad.has(i + 1) ? "line bad" : "line" }, String(i + 1))));
    gutter.scrollTop = area.scrollTop;
  }

  function goTo(line, column = 1) {
    const lines = area.value.split("\n");
    const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, column - 1);
    area.focus();
    area.setSelectionRange(offset, offset);
  }

  function setDiagnostics(items) {
    diagnostics = items || [];
    list.replaceChildren(...diagnostics.map((d) => {
      const where = d.line ? `Line ${d.line}${d.column ? `:${d.column}` : ""}` : "Document";
      const item = h("li", { class: "diagnostic" },
        d.line ? h("button", { type: "button", class: "link", onclick: () => goTo(d.line, d.column) }, where) : h("span", {}, where),
        ": ", d.path ? h("code", {}, d.path) : null, d.path ? " " : null, d.message);
      return item;
    }));
    area.setAttribute("aria-invalid", diagnostics.length ? "true" : "false");
    wrap.classList.toggle("has-problems", diagnostics.length > 0);
    drawGutter();
  }

  async function validateNow() {
    if (!validate) return;
    const mine = ++seq;
    const result = await validate(area.value);
    if (mine === seq && result) setDiagnostics(result);
  }

  area.addEventListener("input", () => {
    drawGutter();
    if (!validate) return;
    clearTimeout(timer);
    timer = setTimeout(() => validateNow().catch(() => {}), 350);
  });
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener("keydown", (event) => {
    // Tab inserts two spaces (YAML); Escape then Tab leaves the editor (keyboard users).
    if (event.key === "Tab" && !event.shiftKey && !area.dataset.escaped && !readOnly) {
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input"));
    }
    area.dataset.escaped = event.key === "Escape" ? "1" : "";
  });

  const wrap = h("div", { class: "editor" },
    h("label", { for: id }, label, h("small", { class: "hint" }, ` (${language}; Tab indents, Esc then Tab leaves)`)),
    h("div", { class: "editor-body" }, gutter, area),
    list);
  drawGutter();
  return {
    element: wrap,
    value: () => area.value,
    setValue(text) { area.value = text; drawGutter(); },
    setDiagnostics,
    validateNow,
  };
}
