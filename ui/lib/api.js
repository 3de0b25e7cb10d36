// The REST client: every request the UI makes goes through here, so the bearer token, the
// JSON Content-Type on every state-changing request, and problem documents are handled once.
// Operations are found by operationId in the OpenAPI document, so pages never build URLs.

const TOKEN_KEY = "mimir.token";
export const API = "/api/v1";

/** An API answer that was not 2xx, carrying the RFC 9457 problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

async function problemOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") return { status: response.status, ...body };
  } catch { /* not JSON: fall through */ }
  return { status: response.status, title: response.statusText || "Error", detail: text.slice(0, 500) };
}

/**
 * Call `path` (below /api/v1) and return the parsed JSON. Non-GET requests always carry
 * `Content-Type: application/json` (the API refuses state changes without it) unless a
 * different `contentType` is given for a raw body (e.g. a SPARQL query).
 */
export async function request(method, path, { body, query, contentType, accept } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, item);
  }
  const headers = { Accept: accept || "application/json, application/problem+json" };
  const secret = token.get();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  const init = { method, headers };
  if (method !== "GET" && method !== "HEAD") {
    headers["Content-Type"] = contentType || "application/json";
    if (contentType) init.body = body;
    else if (method !== "DELETE" || body !== undefined) init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, { title: "Server not reachable", detail: String(error), status: 0 });
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

let specPromise = null;

/** The OpenAPI document (fetched once). */
export function openapi() {
  specPromise ??= request("GET", "/openapi.json").catch((error) => { specPromise = null; throw error; });
  return specPromise;
}

/** Every operation: {id, method, path, tags, summary, parameters, bodySchema, bodyType}. */
export async function operations() {
  const spec = await openapi();
  const found = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const content = op.requestBody?.content || {};
      const bodyType = Object.keys(content)[0] || null;
      found.push({
        id: op.operationId, method: method.toUpperCase(), path: path.slice(API.length),
        tags: op.tags || [], summary: op.summary || op.operationId, description: op.description || "",
        parameters: (op.parameters || []).map((p) => ({ ...p, schema: resolve(spec, p.schema) })),
        bodySchema: bodyType ? resolve(spec, content[bodyType].schema) : null, bodyType,
      });
    }
  }
  return found;
}

/** The operation with this operationId, or null when the API does not have it (yet). */
export async function operation(id) {
  return (await operations()).find((op) => op.id === id) || null;
}

/** Follow `$ref`s (one level at a time, lazily enough for the forms). */
export function resolve(spec, schema) {
  if (!schema || typeof schema !== "object") return schema;
  if (schema.$ref) return resolve(spec, schema.$ref.split("/").slice(1).reduce((o, k) => o[k], spec));
  const out = Array.isArray(schema) ? [] : {};
  for (const [key, value] of Object.entries(schema)) out[key] = resolve(spec, value);
  return out;
}

/**
 * Call operation `id` with `values`: path parameters fill the path, query parameters go to the
 * query string, the rest is the JSON body.
 */
export async function call(id, values = {}) {
  const op = await operation(id);
  if (!op) throw new ApiError(404, { title: "Not available", detail: `This server has no operation ${id}.` });
  const rest = { ...values };
  const query = {};
  let path = op.path;
  for (const param of op.parameters) {
    if (!(param.name in rest)) continue;
    const value = rest[param.name];
    delete rest[param.name];
    if (param.in === "path") path = path.replace(`{${param.name}}`, encodeURIComponent(value));
    else if (param.in === "query") query[param.name] = value;
  }
  return request(op.method, path, { body: op.bodySchema ? rest : undefined, query });
}

/** The Prefect UI link of a flow run (the Prefect UI URL comes from /system). */
export async function prefectRunUrl(flowRunId) {
  const info = await systemInfo();
  return info ? `${info.prefect_ui_url.replace(/\/$/, "")}/runs/flow-run/${flowRunId}` : null;
}

let systemPromise = null;
export function systemInfo({ refresh = false } = {}) {
  if (refresh) systemPromise = null;
  systemPromise ??= request("GET", "/system").catch(() => { systemPromise = null; return null; });
  return systemPromise;
}
