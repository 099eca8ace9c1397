// The shell: sign-in, the header (service clock, health, role, live stream), hash routing, keyboard.

import * as api from "./api.js";
import { h, clear, problemBox, toast, fmtTime, raw } from "./dom.js";
import { t, locale, setLocale, onLocaleChange, LOCALES } from "./i18n.js";
import "./i18n-zh-CN.js";
import { overviewView } from "./views/overview.js";
import { alertsView } from "./views/alerts.js";
import { statsView } from "./views/stats.js";
import { openStream } from "./sse.js";
import { shipmentsView } from "./views/shipments.js";
import { waybillView } from "./views/waybill.js";
import { quoteView } from "./views/quote.js";
import { warehousesView } from "./views/warehouses.js";

/** Live events for the views: `bus.addEventListener("waybill.status", e => e.detail)`. */
export const bus = new EventTarget();

const state = { me: null, stream: null, clock: null, clockTimer: null, healthTimer: null, view: null };
const main = document.getElementById("main");

const ROUTES = [
  [/^#\/overview\/?$/, () => overviewView],
  [/^#\/alerts\/?$/, () => alertsView],
  [/^#\/stats\/?$/, () => statsView],
  [/^#\/shipments\/?(?:\?(.*))?$/, () => shipmentsView],
  [/^#\/waybills\/([^/]+)$/, (m) => (ctx) => waybillView(ctx, decodeURIComponent(m[1]))],
  [/^#\/quote\/?$/, () => quoteView],
  [/^#\/warehouses(?:\/(\w+))?\/?$/, (m) => (ctx) => warehousesView(ctx, m[1] || null)],
];

function defaultRoute() {
  return "#/overview";
}

// ---- sign-in ------------------------------------------------------------------------------------------

function signInView(error) {
  const input = h("input", {
    id: "api-key", name: "api-key", type: "password", autocomplete: "off", spellcheck: "false",
    required: true, placeholder: "xb_…", "aria-describedby": "api-key-help",
  });
  const status = h("div", { class: "signin-status", "aria-live": "assertive" }, error ? problemBox(error) : null);
  const form = h("form", { class: "signin card", id: "signin" },
    h("h1", {}, "Sign in"),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("p", { id: "api-key-help", class: "help" },
      t("Paste the key you were given ({cli} or your administrator).", { cli: "xborder keys create" }), " ",
      "It is kept in this browser tab only and sent as a Bearer token."),
    h("button", { class: "btn primary", type: "submit" }, "Sign in"),
    status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    const button = form.querySelector("button");
    button.disabled = true;
    clear(status);
    try {
      const me = await whoAmI(key);
      api.setKey(key);
      await start(me);
    } catch (err) {
      status.append(problemBox(err));
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  clear(main).append(form);
  input.focus();
}

/** Who the key belongs to; falls back to a cheap authenticated call where `/v1/me` is not served. */
async function whoAmI(key) {
  try {
    return await api.request("GET", "/v1/me", { key });
  } catch (err) {
    if (!err.unavailable) throw err;
    await api.request("GET", "/v1/waybills", { key, query: { limit: 1 } });
    return { role: "unknown", tenant_id: "", warehouses: [] };
  }
}

function signOut(reason) {
  api.clearKey();
  state.stream?.close();
  state.stream = null;
  clearInterval(state.healthTimer);
  state.me = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("whoami").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("live").hidden = true;
  if (location.hash) history.replaceState(null, "", location.pathname);
  signInView(reason);
}

api.onUnauthorized((problem) => signOut(problem));

// ---- header --------------------------------------------------------------------------------------------

async function refreshHealth() {
  const clockEl = document.getElementById("clock");
  const healthEl = document.getElementById("health");
  try {
    const response = await fetch("/healthz", { cache: "no-store" });
    const body = await response.json();
    state.clock = { now: Date.parse(body.now), at: performance.now(), speed: Number(body.clock_speed) || 1 };
    const parts = [["db", body.database], ["mqtt", body.mqtt]];
    clear(healthEl).append(...parts.map(([name, value]) =>
      h("span", { class: `dot ${value === "ok" ? "ok" : "bad"}`, title: `${name}: ${value}` }, raw(name))));
    clockEl.classList.remove("stale");
  } catch {
    clear(healthEl).append(h("span", { class: "dot bad", title: "the service does not answer" }, t("offline")));
    clockEl.classList.add("stale");
  }
  tickClock();
}

function serviceNow() {
  const c = state.clock;
  return c ? new Date(c.now + (performance.now() - c.at) * c.speed) : null;
}

function tickClock() {
  const el = document.getElementById("clock");
  const now = serviceNow();
  if (!now) return;
  const speed = state.clock.speed;
  el.textContent = `${fmtTime(now.toISOString(), { seconds: true })}${speed !== 1 ? ` ×${speed}` : ""}`;
  el.setAttribute("translate", "no");
  el.dateTime = now.toISOString();
}

function showWhoAmI(me) {
  const el = document.getElementById("whoami");
  const scope = me.warehouses?.length ? ` · ${me.warehouses.join(", ")}` : "";
  el.replaceChildren(h("span", { class: `role role-${me.role}` }, t(me.role)), me.tenant_name || scope ? raw(` ${me.tenant_name || ""}${scope}`, "span", { class: "tenant" }) : "");
  el.title = `key ${me.key_id || "?"} of tenant ${me.tenant_id || "?"}`;
  el.hidden = false;
  document.getElementById("signout").hidden = false;
  const nav = document.getElementById("nav");
  nav.hidden = false;
  const show = {
    overview: true,
    alerts: true,
    stats: true,
    shipments: true,
    quote: ["forwarder", "admin", "unknown"].includes(me.role),
    warehouses: ["operator", "seller", "admin", "unknown"].includes(me.role),
  };
  for (const a of nav.querySelectorAll("a")) a.hidden = !show[a.dataset.view];
}

function connectStream() {
  const live = document.getElementById("live");
  live.hidden = false;
  const labels = { connecting: "connecting…", open: "live", retrying: "reconnecting", closed: "off", refused: "refused" };
  state.stream = openStream("/v1/stream", {
    headers: { Authorization: `Bearer ${api.getKey()}` },
    onEvent: (ev) => bus.dispatchEvent(new CustomEvent(ev.event, { detail: ev.data })),
    onState: (st, info) => {
      live.className = `live live-${st}`;
      live.textContent = t(labels[st] || st);
      live.title = st === "retrying" ? `stream: ${info.reason}; next try in ${Math.round(info.delay / 1000)} s` : `stream: ${st}`;
      live.dataset.state = st;
    },
  });
}

// ---- routing ------------------------------------------------------------------------------------------

async function route() {
  if (!state.me) return;
  const hash = location.hash || defaultRoute(state.me.role);
  state.hash = hash;
  let view = null;
  for (const [re, make] of ROUTES) {
    const m = hash.match(re);
    if (m) { view = make(m); break; }
  }
  if (!view) { location.hash = defaultRoute(state.me.role); return; }
  state.view?.dispose?.();
  for (const a of document.querySelectorAll("#nav a")) {
    const current = hash.startsWith(a.getAttribute("href")) || (a.dataset.view === "shipments" && hash.startsWith("#/waybills/"));
    if (current) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  clear(main);
  const ctx = { main, me: state.me, bus, navigate: (to) => { location.hash = to; }, serviceNow };
  try {
    state.view = (await view(ctx)) || null;
  } catch (err) {
    main.append(problemBox(err));
  }
}

async function start(me) {
  state.me = me;
  showWhoAmI(me);
  connectStream();
  if (!location.hash) history.replaceState(null, "", defaultRoute(me.role));
  await route();
}

window.addEventListener("hashchange", route);

// ---- language ------------------------------------------------------------------------------------------

/** Static text of index.html, kept in English in data-en and drawn in the active language. */
function translateShell() {
  for (const el of document.querySelectorAll("#nav a, #signout, .skip, label[for=lang]")) {
    el.dataset.en ??= el.textContent;
    el.textContent = t(el.dataset.en);
  }
  const lang = document.getElementById("lang");
  lang.setAttribute("aria-label", t("Language"));
  document.getElementById("nav").setAttribute("aria-label", t("Views"));
  document.title = t("xborder");
}

const langSelect = document.getElementById("lang");
for (const [tag, name] of LOCALES) langSelect.append(h("option", { value: tag, lang: tag, translate: "no" }, name));
langSelect.value = locale();
langSelect.addEventListener("change", () => setLocale(langSelect.value));
onLocaleChange(() => {
  langSelect.value = locale();
  translateShell();
  tickClock();
  if (state.me) {
    showWhoAmI(state.me);
    const live = document.getElementById("live");
    if (live.dataset.state) live.textContent = t({ connecting: "connecting…", open: "live", retrying: "reconnecting", closed: "off", refused: "refused" }[live.dataset.state] || live.dataset.state);
    route();
  } else {
    signInView();
  }
});
translateShell();
document.getElementById("signout").addEventListener("click", () => { signOut(); toast(t("Signed out; the key was removed from this tab.")); });

// Keyboard: g then s/q/w jumps to a view; "/" focuses the first filter of the view; j/k walk table rows.
let pendingG = 0;
document.addEventListener("keydown", (ev) => {
  const typing = ev.target.closest?.("input, textarea, select, [contenteditable]");
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || !state.me) return;
  if (ev.key === "/") {
    const filter = main.querySelector("[data-filter]");
    if (filter) { ev.preventDefault(); filter.focus(); }
  } else if (ev.key === "j" || ev.key === "k") {
    // j / k move through the rows of the first linked table (Enter then opens the row's link)
    const links = [...main.querySelectorAll("table.grid tbody tr td:first-child a")];
    if (!links.length) return;
    const at = links.indexOf(document.activeElement);
    const next = at === -1 ? 0 : Math.max(0, Math.min(links.length - 1, at + (ev.key === "j" ? 1 : -1)));
    ev.preventDefault();
    links[next].focus();
    links[next].closest("tr").scrollIntoView({ block: "nearest" });
  } else if (ev.key === "g") {
    pendingG = Date.now();
  } else if (Date.now() - pendingG < 1500) {
    const to = { o: "#/overview", a: "#/alerts", s: "#/shipments", q: "#/quote", w: "#/warehouses" }[ev.key];
    pendingG = 0;
    if (to) { ev.preventDefault(); location.hash = to; }
  }
});

// ---- boot ---------------------------------------------------------------------------------------------

refreshHealth();
setInterval(tickClock, 1000);
setInterval(refreshHealth, 15000);

(async () => {
  const key = api.getKey();
  if (!key) { signInView(); return; }
  try {
    await start(await whoAmI(key));
  } catch (err) {
    if (err.status === 401 || err.status === 403) signOut(err);
    else { clear(main).append(problemBox(err), h("button", { class: "btn", type: "button", onclick: () => location.reload() }, "Retry")); }
  }
})();
