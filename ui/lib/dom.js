// Tiny DOM helpers shared by components and pages (not a component: no UI of its own).

/** h("button", {class: "x", onclick}, "text", child…) → element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Start a browser download of `text` as `filename`. */
export function download(filename, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function fmtTime(value) {
  return value ? new Date(value).toLocaleString() : "—";
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** Render a problem document (title, detail, field errors with line/column). */
export function problemView(problem) {
  const errors = (problem.errors || []).map((e) =>
    h("li", {}, [e.field, e.line ? `line ${e.line}${e.column ? `, column ${e.column}` : ""}` : null].filter(Boolean).join(" · "),
      e.field || e.line ? ": " : "", e.message));
  return h("div", { class: "problem", role: "alert" },
    h("strong", {}, `${problem.status ? problem.status + " " : ""}${problem.title || "Error"}`),
    problem.detail ? h("p", {}, problem.detail) : null,
    errors.length ? h("ul", {}, errors) : null);
}

/** Replace `el`'s children, skipping null/false (native replaceChildren would print "null"). */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}
