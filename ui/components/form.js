// Form generated from an operation in the OpenAPI document: path/query parameters and the JSON
// Schema of the request body become labelled fields, so forms follow the API without
// hand-written fields. Unions (`oneOf`/`anyOf`, with or without a discriminator) become a
// choice of branch; lists of objects or unions get add/remove. Values come back typed
// (numbers, booleans, lists, objects), holding only the chosen branch's values.
import { h } from "../lib/dom.js";

let uid = 0;

/** The non-null branches of a union, and whether null is allowed (`anyOf: [X, null]`). */
function branchesOf(schema) {
  const branches = schema.oneOf || schema.anyOf;
  if (!branches) return null;
  const real = branches.filter((b) => b.type !== "null");
  return { real, nullable: real.length < branches.length };
}

/**
 * `anyOf: [X, null]` is X (optional); a union inside (`anyOf: [{oneOf: …}, null]`) stays a
 * union. The outer schema's title, description and default win over the branch's.
 */
function unwrap(schema) {
  const union = branchesOf(schema);
  if (!union) return { schema, nullable: false };
  const outer = { description: schema.description, title: schema.title, default: schema.default };
  for (const key of Object.keys(outer)) if (outer[key] === undefined) delete outer[key];
  if (union.real.length > 1) return { schema: { ...schema, ...outer }, nullable: union.nullable };
  const inner = unwrap(union.real[0] || {});
  return { schema: { ...inner.schema, ...outer }, nullable: union.nullable || inner.nullable };
}

const isObject = (s) => s.type === "object" && s.properties && Object.keys(s.properties).length > 0;
const isUnion = (s) => (branchesOf(s)?.real.length || 0) > 1;

function kindOf(schema) {
  if (isUnion(schema)) return "union";
  if (schema.enum) return "enum";
  if (isObject(schema)) return "object";
  if (schema.type === "string" && schema.format === "date-time") return "datetime";
  if (schema.type === "array" && schema.items && (isObject(unwrap(schema.items).schema) || isUnion(schema.items))) return "array";
  if (schema.type === "array" && (!schema.items || ["string", "number", "integer"].includes(schema.items.type))) return "list";
  if (schema.type === "boolean") return "boolean";
  if (schema.type === "integer" || schema.type === "number") return "number";
  if (schema.type === "string") return (schema.maxLength || 0) > 4000 ? "text" : "string";
  return "json";
}

const legendOf = (title, required) => h("legend", {}, title, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null);
const hintOf = (schema) => (schema.description ? h("small", { class: "hint" }, schema.description) : null);

/** The fields of an object's properties (minus `skip`, e.g. a discriminator), read as one object. */
function objectFields(schema, initial, skip) {
  const inner = Object.entries(schema.properties).filter(([key]) => key !== skip).map(([key, sub]) =>
    field(key, sub, (schema.required || []).includes(key), (initial || {})[key]));
  function read() {
    const out = {};
    for (const f of inner) { const value = f.read(); if (value !== undefined) out[f.name] = value; }
    return out;
  }
  return { wraps: inner.map((f) => f.wrap), read };
}

/** A nested object with known properties: a fieldset of its own fields, read back as an object. */
function group(name, schema, required, initial = {}) {
  const inner = objectFields(schema, initial);
  const wrap = h("fieldset", { class: "field group" }, legendOf(schema.title || name, required), hintOf(schema), inner.wraps);
  function read() {
    const out = inner.read();
    return Object.keys(out).length || required ? out : undefined;
  }
  return { name, wrap, read };
}

/** A branch's fixed value of property `key` (a `const` or one-value `enum`), if it has one. */
function fixedValue(branch, key) {
  const prop = branch.properties?.[key];
  if (!prop) return undefined;
  if (prop.const !== undefined) return prop.const;
  return prop.enum?.length === 1 ? prop.enum[0] : undefined;
}

/**
 * The property that tells a union's branches apart: the discriminator's, else one every
 * branch fixes to a different value (a Literal `kind` without a declared discriminator).
 */
function tagOf(schema, branches) {
  const declared = schema.discriminator?.propertyName;
  if (declared) return declared;
  const first = branches[0]?.properties || {};
  return Object.keys(first).find((key) => {
    const values = branches.map((b) => fixedValue(b, key));
    return values.every((v) => v !== undefined) && new Set(values).size === values.length;
  }) || null;
}

/** A branch without a tag: its title, else what it holds (its choices, or its type). */
function branchTitle(branch) {
  if (branch.title) return branch.title;
  if (branch.enum) return branch.enum.join(" | ");
  if (branch.type === "array" && branch.items?.type) return `list of ${branch.items.type}`;
  return branch.type;
}

/**
 * A union (`oneOf`/`anyOf`): a labelled select of its branches (named by the discriminator's
 * value, else the branch's title) and the chosen branch's fields; only those are read back.
 */
function union(name, schema, required, nullable, initial) {
  const branches = branchesOf(schema).real;
  const tag = tagOf(schema, branches);
  const labels = branches.map((b, i) => String((tag && fixedValue(b, tag)) ?? branchTitle(b) ?? `option ${i + 1}`));
  const optional = nullable || !required;
  let chosen = initial !== undefined && initial !== null && tag ? labels.indexOf(String(initial[tag])) : initial !== undefined && initial !== null ? 0 : -1;
  if (chosen < 0 && !optional) chosen = 0;
  const id = `f${++uid}-${name}-branch`;
  const tagTitle = (tag && branches[0].properties?.[tag]?.title) || "Type";
  // option values are the labels (what a person reads and a test selects), indexes if not unique
  const values = new Set(labels).size === labels.length ? labels : labels.map((_, i) => String(i));
  const select = h("select", { id, name: tag || `${name}-branch`, required: optional ? null : true },
    optional ? h("option", { value: "" }, "—") : null,
    labels.map((label, i) => h("option", { value: values[i], selected: i === chosen || null }, label)));
  const body = h("div", { class: "branch" });
  const built = new Map(); // branch index → its fields, kept so switching back keeps what was typed

  function build(i) {
    if (!built.has(i)) {
      const branch = branches[i];
      const start = labels.indexOf(String(initial?.[tag])) === i || !tag ? initial : undefined;
      if (isObject(branch)) {
        const inner = objectFields(branch, start, tag);
        built.set(i, { wraps: [hintOf(branch)].filter(Boolean).concat(inner.wraps), read: () => (tag ? { [tag]: fixedValue(branch, tag), ...inner.read() } : inner.read()) });
      } else {
        const one = field(name, { ...branch, title: schema.title || name }, true, start);
        built.set(i, { wraps: [one.wrap], read: one.read });
      }
    }
    return built.get(i);
  }
  function show() {
    body.replaceChildren(...(select.value === "" ? [] : build(values.indexOf(select.value)).wraps));
  }
  select.addEventListener("change", show);
  show();
  const wrap = h("fieldset", { class: "field group union" }, legendOf(schema.title || name, required), hintOf(schema),
    h("div", { class: "field" }, h("label", { for: id }, tagTitle), select), body);
  function read() {
    if (select.value === "") return nullable && required ? null : undefined;
    return build(values.indexOf(select.value)).read();
  }
  return { name, wrap, read };
}

/** A list of objects or unions: one fieldset per item, with add and remove buttons. */
function array(name, schema, required, initial) {
  const title = schema.title || name;
  const singular = /ies$/.test(title) ? title.replace(/ies$/, "y") : title.replace(/([^s])s$/, "$1");
  const list = h("div", { class: "items" });
  const items = [];
  let touched = false;
  function renumber() {
    items.forEach((item, i) => {
      item.legend.firstChild.textContent = `${singular} ${i + 1}`;
      item.remove.setAttribute("aria-label", `Remove ${singular.toLowerCase()} ${i + 1}`);
    });
  }
  function add(start) {
    const item = field(`${name}-${items.length + 1}`, { ...schema.items, title: singular, description: undefined }, true, start);
    item.legend = item.wrap.querySelector("legend");
    item.remove = h("button", { type: "button", class: "secondary danger" }, "Remove");
    item.remove.addEventListener("click", () => {
      items.splice(items.indexOf(item), 1);
      item.wrap.remove();
      touched = true;
      renumber();
    });
    item.wrap.classList.add("item");
    item.wrap.append(h("div", { class: "actions" }, item.remove));
    items.push(item);
    list.append(item.wrap);
    renumber();
    return item;
  }
  for (const value of Array.isArray(initial) ? initial : []) add(value);
  const more = h("button", { type: "button", class: "secondary" }, `Add ${singular.toLowerCase()}`);
  more.addEventListener("click", () => {
    touched = true;
    add().wrap.querySelector("input, select, textarea")?.focus();
  });
  const wrap = h("fieldset", { class: "field group array" }, legendOf(title, required), hintOf(schema), list, h("div", { class: "actions" }, more));
  function read() {
    const out = items.map((item) => item.read()).filter((value) => value !== undefined);
    return out.length || required || touched ? out : undefined;
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
  let { schema, nullable } = unwrap(rawSchema);
  // a Literal (`const`, e.g. a discriminator's kind) is a one-choice select
  if (schema.const !== undefined && !schema.enum) schema = { ...schema, enum: [schema.const], default: schema.const };
  const kind = kindOf(schema);
  const start = initial !== undefined ? initial : schema.default;
  if (kind === "union") return union(name, schema, required, nullable, start);
  if (kind === "object") return group(name, schema, required, initial);
  if (kind === "array") return array(name, schema, required, start);
  const id = `f${++uid}-${name}`;
  const hintId = `${id}-hint`;
  const label = h("label", { for: id }, schema.title || name, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null);
  const value = start;
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
