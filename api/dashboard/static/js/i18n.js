// Translations of the dashboard's visible strings. The English text is the key; `{name}` placeholders are
// filled from `params`. A view registers its tables with addTranslations(locale, table); the locale is the
// browser's (or `localStorage["xb-locale"]`), and a string without a translation stays English.

const tables = new Map();

function locale() {
  try {
    const chosen = globalThis.localStorage?.getItem("xb-locale");
    if (chosen) return chosen;
  } catch { /* storage may be unavailable */ }
  return globalThis.navigator?.language || "en";
}

/** Register (or extend) the table of one locale: {"English text": "translated text"}. */
export function addTranslations(loc, table) {
  tables.set(loc, { ...(tables.get(loc) || {}), ...table });
}

/** The text in the current locale with `{name}` placeholders filled from `params`. */
export function t(en, params = {}) {
  const table = tables.get(locale()) || tables.get(locale().split("-")[0]) || {};
  const text = table[en] ?? en;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}
