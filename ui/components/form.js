// Form generated from an operation in the OpenAPI document: path/query parameters and the JSON
// Schema of the request body become labelled fields, so forms follow the API without
// hand-written fields. Values come back typed (numbers, booleans, lists, objects).
import { h } from "../lib/dom.js";

let uid = 0;

/** The non-null branch of `anyOf: [X, null]`, and whether null is allowed. */
function unwrap(schema) {
  const branches = schema.anyOf || schema.oneOf;
  if (!branches) return { schema, nullable: false };
  const real = branches.filter((b) => b.type !== "null");
  return { schema: { ...real[0], description: schema.description, title: schema.title, default: schema.default }, nullable: real.length < branches.length };
}

function kindOf(schema) {
  if (schema.enum) return "enum";
  if (schema.type === "object" && schema.properties && Object.keys(schema.properties).length) return "object";
  if (schema.type === "string" && schema.format === "date-time") return "datetime";
  if (schema.type === "array" && (!schema.items || ["string", "number", "integer"].includes(schema.items.type))) return "list";
  if (schema.type === "boolean") return "boolean";
  if (schema.type === "integer" || schema.type === "number") return "number";
  if (schema.type === "string") return (schema.maxLength || 0) > 4000 ? "text" : "string";
  return "json";
}

/** A nested object with known properties: a fieldset of its own fields, read back as an object. */
function group(name, schema, required, initial = {}) {
  const inner = Object.entries(schema.properties).map(([key, sub]) =>
    field(key, sub, (schema.required || []).includes(key), (initial || {})[key]));
  const wrap = h("fieldset", { class: "field group" }, h("legend", {}, schema.title || name, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    schema.description ? h("small", { class: "hint" }, schema.description) : null, inner.map((f) => f.wrap));
  function read() {
    const out = {};
    for (const f of inner) { const value = f.read(); if (value !== undefined) out[f.name] = value; }
    return Object.keys(out).length || required ? out : undefined;
  }
  return { name, wrap, read };
}

/** A datetime-local input's value as an ISO 8601 instant (the API wants a time zone). */
function isoInstant(text) {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`not a date and time: ${text}`);
  return date.toISOString();
}

function field(name, rawSchema, required, initial) {
  let { schema } = unwrap(rawSchema);
  // a Literal (`const`, e.g. a discriminator's kind) is a one-choice select
  if (schema.const !== undefined && !schema.enum) schema = { ...schema, enum: [schema.const], default: schema.const };
  const kind = kindOf(schema);
  if (kind === "object") return group(name, schema, required, initial);
  const id = `f${++uid}-${name}`;
  const hintId = `${id}-hint`;
  const label = h("label", { for: id }, schema.title || name, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null);
  const value = initial !== undefined ? initial : schema.default;
  const common = { id, name, "aria-describedby": schema.description ? hintId : null, required: required || null };
  let input;
  if (kind === "enum") {
    input = h("select", common, required ? null : h("option", { value: "" }, "—"),
      schema.enum.map((v) => h("option", { value: v, selected: v === value || null }, v)));
  } else if (kind === "boolean") {
    input = h("input", { ...common, type: "checkbox", checked: value ? true : null, required: null });
  } else if (kind === "number") {
    input = h("input", { ...common, type: "number", step: schema.type === "integer" ? "1" : "any", min: schema.minimum, max: schema.maximum, value: value ?? "" });
  } else if (kind === "datetime") {
    input = h("input", { ...common, type: "datetime-local", step: "1" });
  } else if (kind === "list") {
    input = h("input", { ...common, type: "text", value: Array.isArray(value) ? value.join(", ") : "", placeholder: "comma-separated" });
  } else if (kind === "text" || kind === "json") {
    input = h("textarea", { ...common, rows: kind === "json" ? 3 : 8, spellcheck: "false" },
      kind === "json" ? (value !== undefined && value !== null ? JSON.stringify(value, null, 1) : "") : (value ?? ""));
  } else {
    const secret = schema.format === "password" || schema.writeOnly;
    input = h("input", { ...common, type: secret ? "password" : "text", value: value ?? "", maxlength: schema.maxLength, autocomplete: "off" });
  }
  const wrap = h("div", { class: `field ${kind === "boolean" ? "check" : ""}` },
    kind === "boolean" ? [input, label] : [label, input],
    schema.description ? h("small", { id: hintId, class: "hint" }, schema.description) : null);

  function read() {
    if (kind === "boolean") return input.checked;
    const text = input.value.trim();
    if (text === "") return undefined;
    if (kind === "number") return Number(text);
    if (kind === "datetime") return isoInstant(text);
    if (kind === "list") {
      const items = text.split(",").map((s) => s.trim()).filter(Boolean);
      return schema.items?.type === "integer" || schema.items?.type === "number" ? items.map(Number) : items;
    }
    if (kind === "json") {
      try { return JSON.parse(text); } catch (error) {
        if (!schema.type) return text; // a value of any type: plain text is a string
        throw new Error(`${schema.title || name}: not valid JSON (${error.message})`);
      }
    }
    return kind === "text" ? input.value : text;
  }
  return { name, wrap, read };
}

/**
 * operationForm(op, {values, hidden, submitLabel, onSubmit(values)}) → <form>. `hidden` names
 * parameters the page fills itself (e.g. the project); `values` pre-fills fields.
 */
export function operationForm(op, { values = {}, hidden = [], submitLabel, onSubmit, fields: only } = {}) {
  const fields = [];
  for (const param of op.parameters || []) {
    if (hidden.includes(param.name) || (only && !only.includes(param.name))) continue;
    const schema = { ...param.schema, description: param.description || param.schema?.description };
    fields.push(field(param.name, schema, param.required, values[param.name]));
  }
  const body = op.bodySchema;
  if (body && op.bodyType === "application/json") {
    const required = body.required || [];
    for (const [name, schema] of Object.entries(body.properties || {})) {
      if (hidden.includes(name) || (only && !only.includes(name))) continue;
      fields.push(field(name, schema, required.includes(name), values[name]));
    }
  }
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, submitLabel || op.summary || op.id);
  const form = h("form", { class: "op-form", novalidate: true, "aria-label": op.summary || op.id },
    fields.map((f) => f.wrap), error, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const out = {};
    for (const f of fields) {
      try {
        const value = f.read();
        if (value !== undefined) out[f.name] = value;
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
        return;
      }
    }
    for (const name of hidden) if (values[name] !== undefined) out[name] = values[name];
    submit.disabled = true;
    try {
      await onSubmit?.(out);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
