// Languages: English is the source text and the key; other locales register tables of translations.
//
//   import { t, addTranslations } from "./i18n.js";
//   addTranslations("zh-CN", { "Plan run": "规划配送", "{n} stops": "{n} 个站点" });
//   t("{n} stops", { n: 3 })  // "3 stops" in en, "3 个站点" in zh-CN
//
// The locale is the one the user picked (kept in localStorage), else the browser's language (zh* -> zh-CN),
// else English. Views re-render on a change (`onLocaleChange`); `dom.h()` passes its literal text through
// `t()`, so a string that is a key is translated wherever it is drawn.

export const LOCALES = [["en", "English"], ["zh-CN", "中文"]];
const STORE = "xborder.locale";
const tables = new Map(); // locale -> Map(en -> translation)
const listeners = new Set();

function supported(tag) {
  if (!tag) return null;
  const lower = String(tag).toLowerCase();
  if (lower.startsWith("zh")) return "zh-CN";
  if (lower.startsWith("en")) return "en";
  return null;
}

function initial() {
  let stored = null;
  try { stored = localStorage.getItem(STORE); } catch { /* storage blocked: fall through */ }
  return supported(stored) || supported((navigator.languages || [])[0]) || supported(navigator.language) || "en";
}

let current = initial();

/** The active locale: "en" or "zh-CN". */
export function locale() {
  return current;
}

/** The BCP 47 tag for Intl formatting (English figures are formatted as en-US, as before). */
export function intlLocale() {
  return current === "zh-CN" ? "zh-CN" : "en-US";
}

/** Switch the language, remember it, tell the listeners (the shell re-renders the view). */
export function setLocale(tag) {
  const next = supported(tag) || "en";
  try { localStorage.setItem(STORE, next); } catch { /* not kept: still switch */ }
  if (next === current) return;
  current = next;
  document.documentElement.lang = next;
  for (const fn of listeners) fn(next);
}

export function onLocaleChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Register (or extend) a locale's table: `{ "English source": "译文", ... }`. */
export function addTranslations(tag, table) {
  const key = supported(tag) || tag;
  if (!tables.has(key)) tables.set(key, new Map());
  const target = tables.get(key);
  for (const [en, translated] of Object.entries(table)) target.set(en, translated);
}

/** Whether the active locale has a translation for `en` (English always has). */
export function has(en) {
  return current === "en" || Boolean(tables.get(current)?.has(en));
}

function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The text in the active locale, with `{name}` placeholders filled from `params`. */
export function t(en, params) {
  if (typeof en !== "string") return en;
  const table = current === "en" ? null : tables.get(current);
  return fill(table?.get(en) ?? en, params);
}

/** `t()` of a key if the active table has it, else the text unchanged (for data that may be a known word). */
export function tMaybe(text) {
  return typeof text === "string" && text ? t(text) : text;
}

/** A number in the active locale. */
export function fmtNum(value, digits = 0) {
  const n = Number(value);
  if (value === null || value === undefined || value === "" || !Number.isFinite(n)) return "—";
  return n.toLocaleString(intlLocale(), { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A date (no time) in the active locale, UTC. */
export function fmtDate(value) {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleDateString(intlLocale(), { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" });
}

/** "3 h 20 min" / "3 小时 20 分": a duration in seconds, for countdowns. */
export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (d) return t("{d} d {h} h", { d, h: hr });
  if (hr) return t("{h} h {m} min", { h: hr, m: min });
  return t("{m} min {s} s", { m: min, s: s % 60 });
}

document.documentElement.lang = current;
