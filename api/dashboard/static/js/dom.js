// Small DOM and formatting helpers. Everything from the API is set as text (never parsed as HTML).

import { t, tMaybe, intlLocale } from "./i18n.js";

// Literal text handed to h() is looked up in the active locale's table (English is the key), and so are
// these attributes. Data the API sends rarely equals a key; wrap it in raw() to keep it as it is.
const TRANSLATED_ATTRS = new Set(["title", "placeholder", "aria-label"]);

/** h("td", {class: "num"}, "12") builds an element; attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  // monospace cells hold codes and ids, name and detail cells data from the API: never translated
  if (typeof attrs?.class === "string" && /\b(mono|code|name|detail)\b/.test(attrs.class)) el.setAttribute("translate", "no");
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, TRANSLATED_ATTRS.has(name) ? tMaybe(String(value)) : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(typeof child === "string" ? tMaybe(child) : String(child)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Data shown as it is: never translated, and marked `translate="no"` (ids, codes, names from the API). */
export function raw(text, tag = "span", attrs = {}) {
  const el = document.createElement(tag);
  el.setAttribute("translate", "no");
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  el.textContent = text === undefined || text === null || text === "" ? "—" : String(text);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// ---- formatting ---------------------------------------------------------------------------------------

export function parseTime(value) {
  if (!value) return null;
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? null : t;
}

/** "2027-03-04 10:15Z": UTC, sortable, no locale surprises for a team spread over time zones. */
export function fmtTime(value, { seconds = false } = {}) {
  const t = parseTime(value);
  if (!t) return "—";
  const iso = t.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, seconds ? 19 : 16)}Z`;
}

export function timeEl(value, opts) {
  const t = parseTime(value);
  return t ? h("time", { datetime: t.toISOString(), title: t.toISOString() }, fmtTime(value, opts)) : h("span", { class: "muted" }, "—");
}

export function fmtMoney(cost) {
  if (!cost) return "—";
  const amount = Number(cost.amount);
  const text = Number.isFinite(amount)
    ? amount.toLocaleString(intlLocale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    : String(cost.amount);
  return `${text} ${cost.currency || ""}`.trim();
}

export function fmtNumber(value, digits = 0) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? n.toLocaleString(intlLocale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(value);
}

export function fmtPosition(pos) {
  if (!pos || pos.lat === undefined) return "—";
  return `${Number(pos.lat).toFixed(3)}, ${Number(pos.lon).toFixed(3)}`;
}

/** Hours between two times, signed (b - a). */
export function hoursBetween(a, b) {
  const ta = parseTime(a);
  const tb = parseTime(b);
  return ta && tb ? (tb - ta) / 3.6e6 : null;
}

export function fmtDelta(hours) {
  if (hours === null || Number.isNaN(hours)) return "";
  const abs = Math.abs(hours);
  const sign = abs < 0.05 ? "±" : hours > 0 ? "+" : "−";
  return abs >= 48 ? t("{v} d", { v: `${sign}${(abs / 24).toFixed(1)}` }) : t("{v} h", { v: `${sign}${abs.toFixed(1)}` });
}

// ---- status -------------------------------------------------------------------------------------------

export const WAYBILL_STATUSES = [
  "BOOKED", "PICKED_UP", "IN_TRANSIT", "AT_HUB", "AT_BORDER", "CUSTOMS_HOLD", "ARRIVED",
  "AT_WAREHOUSE", "OUT_FOR_DELIVERY", "DELIVERED", "EXCEPTION", "CANCELLED",
];

const STATUS_TONE = {
  BOOKED: "planned", PICKED_UP: "moving", IN_TRANSIT: "moving", AT_HUB: "hold", AT_BORDER: "hold",
  CUSTOMS_HOLD: "warn", ARRIVED: "done", AT_WAREHOUSE: "done", OUT_FOR_DELIVERY: "moving",
  DELIVERED: "done", EXCEPTION: "bad", CANCELLED: "off",
  // orders and returns
  ALLOCATED: "planned", SHIPPED: "done", AUTHORISED: "planned", RECEIVED: "done", INSPECTED: "done", CLOSED: "off",
};

export function statusPill(status) {
  const tone = STATUS_TONE[status] || "planned";
  return h("span", { class: `pill tone-${tone}`, "data-status": status }, String(status ?? "—").replaceAll("_", " "));
}

// ---- problems and notes --------------------------------------------------------------------------------

/** The problem box: title, detail and per-field errors; `role=alert` so screen readers announce it. */
export function problemBox(err, { context } = {}) {
  const problem = err?.problem || { title: "Error", detail: String(err?.message || err) };
  const box = h(
    "div",
    { class: "problem", role: "alert" },
    h("strong", { class: "problem-title" }, problem.title || "Error", problem.status ? ` (${problem.status})` : ""),
    context ? h("span", { class: "problem-context" }, ` ${context}`) : null,
    problem.detail ? h("p", { class: "problem-detail", translate: "no" }, problem.detail) : null,
  );
  // the API's figures (not enough stock: which SKU is short by how much)
  if (Array.isArray(problem.shortages) && problem.shortages.length) {
    box.append(h("ul", { class: "problem-shortages" }, problem.shortages.map((s) => h("li", {},
      t("{sku}: {missing} short", { sku: s.sku, missing: s.missing ?? s.short ?? s.qty })))));
  }
  if (Array.isArray(problem.errors) && problem.errors.length) {
    box.append(h("ul", { class: "problem-errors" },
      problem.errors.map((e) => h("li", {}, h("code", {}, e.field || "body"), ": ", e.message || ""))));
  }
  return box;
}

export function unavailableNote(what, err) {
  return h("p", { class: "note unavailable", "data-unavailable": what },
    t("{what} is not available on this server yet", { what: t(what) }), err?.status ? ` (HTTP ${err.status}).` : ".");
}

/** Show a failed load: "not available" for a missing endpoint, the problem otherwise. */
export function failure(what, err) {
  return err?.unavailable ? unavailableNote(what, err) : problemBox(err, { context: t("while loading {what}", { what: t(what).toLowerCase() }) });
}

export function toast(message, tone = "info", ms = 6000) {
  const host = document.getElementById("toasts");
  const el = h("div", { class: `toast tone-${tone}` }, message);
  host.append(el);
  setTimeout(() => el.remove(), ms);
}

export function emptyRow(colspan, text) {
  return h("tr", { class: "empty" }, h("td", { colspan }, t(text)));
}

/** A table with a sticky header; `head` is a list of [label, className?]. */
export function table(head, rows, { caption, id, label } = {}) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "grid", id, "aria-label": label },
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, head.map(([text, cls]) => h("th", { scope: "col", class: cls }, text)))),
      h("tbody", {}, rows)));
}
