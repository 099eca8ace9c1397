// The HTTP client: the API key (sessionStorage), Bearer auth, RFC 9457 problems as exceptions.

const KEY = "xborder.apiKey";

export function getKey() {
  return sessionStorage.getItem(KEY);
}

export function setKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function clearKey() {
  sessionStorage.removeItem(KEY);
}

/** An error answer of the API, carrying the problem document (`title`, `detail`, `status`, `errors`). */
export class Problem extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = "Problem";
    this.problem = problem;
    this.status = problem.status ?? 0;
  }

  get title() { return this.problem.title || "Error"; }
  get detail() { return this.problem.detail || ""; }
  get errors() { return Array.isArray(this.problem.errors) ? this.problem.errors : []; }
  /** The endpoint is not there (yet): the view says "not available" instead of failing. */
  // A missing route answers 404 with Starlette's bare "Not Found"; a missing object names itself.
  get unavailable() {
    return (this.status === 404 && this.detail === "Not Found") || this.status === 405 || this.status === 501;
  }
}

async function problemFrom(response) {
  let body = null;
  const type = response.headers.get("content-type") || "";
  try {
    body = type.includes("json") ? await response.json() : { detail: (await response.text()).slice(0, 300) };
  } catch {
    body = {};
  }
  if (!body || typeof body !== "object") body = {};
  return new Problem({
    title: body.title || response.statusText || "HTTP error",
    status: body.status || response.status,
    detail: body.detail || "",
    errors: body.errors,
    type: body.type,
    ...body,
  });
}

/** Listeners told when the key is refused (401), so the app can return to the sign-in screen. */
const unauthorizedListeners = new Set();
export function onUnauthorized(fn) { unauthorizedListeners.add(fn); }

/**
 * Call the API. Returns parsed JSON (or null for 204); throws `Problem` for any non-2xx answer and for
 * network failures (status 0), so callers have one kind of error to show.
 */
export async function request(method, path, { body, query, idempotencyKey, signal, auth = true, key } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json, application/problem+json" };
  const token = key ?? getKey();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new Problem({ title: "Service unreachable", status: 0, detail: `${method} ${url.pathname}: ${err.message}` });
  }
  if (!response.ok) {
    const problem = await problemFrom(response);
    if (response.status === 401 && auth && key === undefined) unauthorizedListeners.forEach((fn) => fn(problem));
    throw problem;
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, query, opts = {}) => request("GET", path, { ...opts, query });
export const post = (path, body, opts = {}) => request("POST", path, { ...opts, body });

/** A list endpoint's rows whether it answers `[...]` or `{"items": [...]}`. */
export function items(payload) {
  if (Array.isArray(payload)) return payload;
  if (payload && Array.isArray(payload.items)) return payload.items;
  return [];
}

export function newIdempotencyKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

let nodeNamesCache = null;
/** Node id and UN/LOCODE -> name, from `GET /v1/network/nodes` once per page; empty where not served. */
export function nodeNames() {
  nodeNamesCache ??= get("/v1/network/nodes").then((payload) => {
    const names = new Map();
    for (const n of items(payload)) {
      names.set(n.id, n.name);
      if (n.unlocode) names.set(n.unlocode, n.name);
    }
    return names;
  }).catch(() => { nodeNamesCache = null; return new Map(); });
  return nodeNamesCache;
}

/**
 * Every row of a list endpoint, whether it answers a bare array or `{"items": [...], "next": cursor}`;
 * follows `next` (as `cursor`) up to `max` rows. Every list fetch of the dashboard goes through here.
 */
export async function list(path, query = {}, { max = 1000 } = {}) {
  const rows = [];
  let cursor = null;
  for (let guard = 0; guard < 50; guard += 1) {
    const page = await get(path, cursor ? { ...query, cursor } : query);
    rows.push(...items(page));
    cursor = !Array.isArray(page) && page ? page.next : null;
    if (!cursor || rows.length >= max) break;
  }
  return rows;
}

let networkCache = null;
/** The network once per page: `{nodes, services, node(idOrLocode), name(idOrLocode)}`. */
export function network() {
  networkCache ??= Promise.all([list("/v1/network/nodes"), list("/v1/network/services").catch(() => [])])
    .then(([nodes, services]) => {
      const byKey = new Map();
      for (const n of nodes) {
        byKey.set(n.id || n.node_id, n);
        if (n.unlocode) byKey.set(n.unlocode, n);
      }
      return {
        nodes, services,
        node: (key) => byKey.get(key) || null,
        name: (key) => byKey.get(key)?.name || key,
      };
    })
    .catch((err) => { networkCache = null; throw err; });
  return networkCache;
}

/** Does the served OpenAPI document have this path (for pages built ahead of their endpoint)? */
let openapiPaths = null;
export async function hasPath(path) {
  openapiPaths ??= fetch("/openapi.json").then((r) => r.json()).then((d) => new Set(Object.keys(d.paths || {}))).catch(() => new Set());
  return (await openapiPaths).has(path);
}
