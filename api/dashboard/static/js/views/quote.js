// Quote and book: the quote form, the Pareto options, and booking one of them.

import * as api from "../api.js";
import { h, clear, problemBox, timeEl, fmtMoney, fmtNumber, failure, table, toast, raw } from "../dom.js";
import { t, fmtDuration } from "../i18n.js";

const EQUIPMENT = ["LCL", "20GP", "40GP", "40HC", "40RF", "AIR"];
const CUSTOMS_MODES = [
  ["9610", "9610 · B2C direct mail"],
  ["9710", "9710 · B2B direct export"],
  ["9810", "9810 · B2B export to overseas warehouse"],
  ["1210", "1210 · bonded e-commerce"],
];

/** "CNYIB", a node id, or "28.77, 104.63" (a position: nearest suitable node plus a road leg). */
export function place(text) {
  const m = text.trim().match(/^(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)$/);
  return m ? { lat: Number(m[1]), lon: Number(m[2]) } : text.trim();
}

/** A datetime-local value read as UTC (the form says so), as RFC 3339. */
function utcValue(local) {
  return local ? `${local.length === 16 ? `${local}:00` : local}Z` : null;
}

function field(label, input, hint) {
  return h("div", { class: "field", dataset: { field: input.name } }, h("label", { for: input.id }, label), input,
    hint ? h("small", { class: "hint" }, hint) : null);
}

function legsSummary(legs, names) {
  // Mark estimated legs only when the option mixes published and estimated ones (the Basis column says the rest).
  const mixed = new Set((legs || []).map((l) => l.basis)).size > 1;
  return h("ol", { class: "legs-inline" }, (legs || []).map((l) => h("li", {},
    h("span", { class: `mode mode-${l.mode}` }, l.mode), " ",
    h("span", { title: names.get(l.origin) || l.origin }, l.origin), " → ",
    h("span", { title: names.get(l.destination) || l.destination }, l.destination),
    mixed && l.basis === "estimate" ? h("span", { class: "badge estimate", title: "no published timetable: the departure is estimated" }, "est.") : null)));
}

/**
 * The default ready time: the service clock's now plus one real minute of service time (at least an
 * hour), rounded up to the hour, so an option's first departure does not leave while the user reads the
 * options at a fast demo clock (x3600: a minute is 60 service hours, longer than a quote is valid).
 */
export function defaultReady(now, speed) {
  const ahead = Math.max(3.6e6, 60e3 * (speed || 1));
  const t0 = new Date(now.getTime() + ahead);
  if (t0.getUTCMinutes() || t0.getUTCSeconds() || t0.getUTCMilliseconds()) t0.setUTCHours(t0.getUTCHours() + 1, 0, 0, 0);
  return t0;
}

export async function quoteView({ main, navigate, serviceNow }) {
  const now = new Date();
  const nodesNote = h("div", { class: "nodes-note" });
  const datalist = h("datalist", { id: "nodes" });
  const input = (attrs) => h("input", { ...attrs, id: `q-${attrs.name}` });
  const origin = input({ name: "origin", list: "nodes", required: true, value: "CNYIB", autocomplete: "off", "data-filter": true });
  const destination = input({ name: "destination", list: "nodes", required: true, value: "", placeholder: "e.g. DEDUI", autocomplete: "off" });
  const readyAt = input({ name: "ready_at", type: "datetime-local", required: true });
  const deliverBy = input({ name: "deliver_by", type: "datetime-local" });
  const weight = input({ name: "weight_kg", type: "number", min: "0.1", step: "any", required: true, value: "12000" });
  const volume = input({ name: "volume_m3", type: "number", min: "0.01", step: "any", required: true, value: "60" });
  const equipment = h("select", { name: "equipment", id: "q-equipment" }, EQUIPMENT.map((e) => h("option", { value: e, selected: e === "40HC" }, e)));
  const dg = h("input", { type: "checkbox", name: "dangerous_goods", id: "q-dangerous_goods" });
  const tMin = input({ name: "temperature_min", type: "number", step: "0.5", placeholder: "min °C", "aria-label": "Minimum temperature, °C" });
  const tMax = input({ name: "temperature_max", type: "number", step: "0.5", placeholder: "max °C", "aria-label": "Maximum temperature, °C" });
  const customs = h("select", { name: "customs_mode", id: "q-customs_mode" }, CUSTOMS_MODES.map(([v, t]) => h("option", { value: v, selected: v === "9810" }, t)));
  const maxOptions = input({ name: "max_options", type: "number", min: "1", max: "20", value: "8" });
  const submit = h("button", { class: "btn primary", type: "submit" }, "Get quote");
  const out = h("div", { class: "quote-results", "aria-live": "polite" });
  const sortBy = h("select", { id: "q-sort", name: "sort" },
    [["cost", "Cost"], ["transit", "Transit time"], ["co2e", "CO₂e"], ["departure", "Departure"]].map(([v, l]) => h("option", { value: v }, l)));
  const names = new Map();

  const form = h("form", { class: "card quote-form", id: "quote-form", novalidate: true },
    h("div", { class: "form-grid" },
      field("Origin", origin, "UN/LOCODE, node id, or lat, lon"),
      field("Destination", destination, "UN/LOCODE, node id, or lat, lon"),
      field("Ready at (UTC)", readyAt),
      field("Deliver by (UTC)", deliverBy, "optional"),
      field("Weight, kg", weight),
      field("Volume, m³", volume),
      field("Equipment", equipment),
      field("Customs mode", customs),
      h("div", { class: "field", dataset: { field: "temperature" } }, h("span", { class: "label", id: "q-temp-l" }, "Temperature range (reefer)"),
        h("div", { class: "pair", role: "group", "aria-labelledby": "q-temp-l" }, tMin, tMax)),
      field("Max options", maxOptions),
      h("div", { class: "field check", dataset: { field: "dangerous_goods" } }, dg, h("label", { for: "q-dangerous_goods" }, "Dangerous goods"))),
    h("div", { class: "actions" }, submit, nodesNote),
    datalist);

  main.append(h("section", { class: "view", "aria-labelledby": "quote-h" },
    h("div", { class: "view-head" }, h("h1", { id: "quote-h" }, "Quote & book")), form, out));

  // Default ready time follows the service clock until the user sets one.
  let speed = 1;
  try {
    const health = await (await fetch("/healthz", { cache: "no-store" })).json();
    const t0 = new Date(health.now);
    if (!Number.isNaN(t0.getTime())) now.setTime(t0.getTime());
    speed = Number(health.clock_speed) || 1;
  } catch { /* the browser clock will do */ }
  let readyTouched = false;
  readyAt.addEventListener("input", () => { readyTouched = true; });
  const clockNow = () => serviceNow?.() || now;
  const followClock = () => {
    if (!readyTouched && document.activeElement !== readyAt) readyAt.value = defaultReady(clockNow(), speed).toISOString().slice(0, 16);
  };
  readyAt.value = defaultReady(now, speed).toISOString().slice(0, 16);
  const timers = [setInterval(followClock, 1000)];
  let lastPayload = null;

  api.get("/v1/network/nodes").then((payload) => {
    const nodes = api.items(payload);
    for (const n of nodes) {
      const id = n.id || n.node_id;
      names.set(id, n.name);
      if (n.unlocode) names.set(n.unlocode, n.name);
      datalist.append(h("option", { value: n.unlocode || id }, `${n.name || id} · ${(n.kinds || [n.kind]).filter(Boolean).join(", ")}${n.unlocode && n.unlocode !== id ? ` · ${id}` : ""}`));
    }
    nodesNote.textContent = t("{n} network nodes to choose from", { n: nodes.length });
  }).catch((err) => {
    clear(nodesNote).append(err.unavailable
      ? h("span", { class: "note unavailable" }, "The node list is not available; type a UN/LOCODE or node id.")
      : problemBox(err, { context: "while loading the network nodes" }));
  });

  // One idempotency key per booking body, so a double click or a retry never books twice. (Each quote
  // submission gets a fresh key: asking again later should plan again, not replay an expired quote.)
  const keys = new Map();
  const keyFor = (kind, body) => {
    const k = `${kind}:${JSON.stringify(body)}`;
    if (!keys.has(k)) keys.set(k, api.newIdempotencyKey());
    return keys.get(k);
  };

  function markErrors(err) {
    for (const el of form.querySelectorAll(".field.invalid")) el.classList.remove("invalid");
    for (const e of err.errors || []) {
      const name = String(e.field || "").split(".").pop();
      const box = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
      if (box) {
        box.classList.add("invalid");
        box.querySelector("input, select")?.setAttribute("aria-invalid", "true");
      }
    }
  }

  function body() {
    const temperature = tMin.value !== "" && tMax.value !== "" ? [Number(tMin.value), Number(tMax.value)] : null;
    return {
      origin: place(origin.value),
      destination: place(destination.value),
      ready_at: utcValue(readyAt.value),
      deliver_by: utcValue(deliverBy.value),
      cargo: {
        weight_kg: Number(weight.value), volume_m3: Number(volume.value), equipment: equipment.value,
        dangerous_goods: dg.checked, temperature,
      },
      customs_mode: customs.value,
      max_options: Number(maxOptions.value) || 8,
    };
  }

  async function book(quote, option, button) {
    const payload = { quote_id: quote.id, option_id: option.id };
    for (const b of out.querySelectorAll("button.book")) b.disabled = true;
    button.textContent = t("Booking…");
    try {
      const booking = await api.post("/v1/bookings", payload, { idempotencyKey: keyFor("booking", payload) });
      toast(t("Booked: waybill {no}", { no: booking.waybill_no }), "ok");
      navigate(`#/waybills/${encodeURIComponent(booking.waybill_no)}`);
    } catch (err) {
      const box = problemBox(err, { context: t("while booking") });
      if (err.status === 409 || err.status === 410) {
        // expired quote or a departure that has left: quote again with the same inputs
        box.append(h("p", {}, t("The option is no longer available at the service clock's time."), " ",
          h("button", { class: "btn small primary requote", type: "button", onclick: () => requote() }, "Re-quote with the same inputs")));
      }
      out.prepend(box);
      for (const b of out.querySelectorAll("button.book")) b.disabled = false;
      button.textContent = t("Book");
    }
  }

  /** Quote again with the last inputs; a ready time already past moves to the default. */
  async function requote() {
    if (!lastPayload) return;
    const payload = { ...lastPayload };
    if (Date.parse(payload.ready_at) < clockNow().getTime()) {
      payload.ready_at = defaultReady(clockNow(), speed).toISOString().replace(/\.\d{3}Z$/, "Z");
      readyAt.value = payload.ready_at.slice(0, 16);
    }
    await runQuote(payload);
  }

  const SORTS = {
    cost: (o) => Number(o.cost?.amount),
    transit: (o) => Number(o.door_to_door_hours ?? o.transit_hours),
    co2e: (o) => Number(o.co2e_kg),
    departure: (o) => Date.parse(o.departure || o.legs?.[0]?.departure || ""),
  };

  function breakdown(o) {
    const parts = o.cost_breakdown || o.cost?.breakdown;
    if (!parts) return null;
    const entries = Array.isArray(parts) ? parts.map((p) => [p.label || p.kind || p.name || p.component, p.amount ?? p]) : Object.entries(parts);
    return h("details", { class: "breakdown" }, h("summary", {}, "Breakdown"),
      h("ul", {}, entries.map(([k, v]) => h("li", {}, raw(k), ": ", fmtMoney(typeof v === "object" ? v : { amount: v, currency: o.cost?.currency })))));
  }

  let countdownEl = null;
  let shownQuote = null;
  /** A Book button whose option can no longer be booked becomes a re-quote with the same inputs. */
  function toRequote(b) {
    if (b.classList.contains("requote")) return;
    b.textContent = t("Re-quote");
    b.classList.add("requote");
  }

  function tickCountdown() {
    // an option whose first departure has passed on the service clock has left
    for (const b of out.querySelectorAll("button.book[data-departure]")) {
      if (Date.parse(b.dataset.departure) <= clockNow().getTime()) toRequote(b);
    }
    if (!countdownEl || !shownQuote?.expires_at) return;
    const left = (Date.parse(shownQuote.expires_at) - clockNow().getTime()) / 1000;
    if (left > 0) {
      countdownEl.textContent = t("valid for {left} (service time)", { left: fmtDuration(left) });
      countdownEl.className = `countdown${left < 6 * 3600 ? " soon" : ""}`;
    } else {
      countdownEl.textContent = t("expired");
      countdownEl.className = "countdown expired";
      for (const b of out.querySelectorAll("button.book")) toRequote(b);
    }
  }
  timers.push(setInterval(tickCountdown, 1000));

  function showOptions(quote) {
    shownQuote = quote;
    const options = [...(quote.options || [])].sort((a, b) => SORTS[sortBy.value](a) - SORTS[sortBy.value](b));
    if (!options.length) { clear(out).append(h("p", { class: "note" }, "No options.")); return; }
    const fastest = Math.min(...options.map((o) => o.transit_hours));
    const rows = options.map((o) => {
      const button = h("button", {
        class: "btn small primary book", type: "button", "aria-label": t("Book option {id}", { id: o.id }),
        "data-departure": o.departure || o.legs?.[0]?.departure,
      }, "Book");
      button.addEventListener("click", () => (button.classList.contains("requote") ? requote() : book(quote, o, button)));
      return h("tr", { dataset: { option: o.id } },
        h("td", {}, (o.labels || []).map((l) => h("span", { class: `label label-${l}` }, l))),
        h("td", { class: "num money" }, fmtMoney(o.cost), breakdown(o)),
        h("td", { class: `num ${o.transit_hours === fastest ? "best" : ""}` }, fmtNumber(o.transit_hours / 24, 1),
          o.door_to_door_hours !== undefined && o.door_to_door_hours !== null
            ? h("small", { class: "muted d2d" }, " ", t("door to door {d} d", { d: fmtNumber(o.door_to_door_hours / 24, 1) })) : null),
        h("td", { class: "num" }, fmtNumber(o.co2e_kg)),
        h("td", { class: "time" }, timeEl(o.departure || o.legs?.[0]?.departure)),
        h("td", { class: "time" }, timeEl(o.arrival || o.legs?.at(-1)?.arrival)),
        h("td", {}, legsSummary(o.legs, names)),
        h("td", {}, o.basis || ((o.legs || []).some((l) => l.basis === "estimate") ? "estimate" : "published")),
        h("td", {}, button));
    });
    countdownEl = quote.expires_at ? h("span", { class: "countdown", id: "quote-countdown", "aria-live": "off" }) : null;
    clear(out).append(
      h("div", { class: "options-head" },
        h("h2", {}, t(options.length > 1 ? "{n} options" : "{n} option", { n: options.length }), " ", h("span", { class: "muted" }, "· ", t("quote"), " ", raw(quote.id)),
          quote.expires_at ? h("span", { class: "muted" }, " · ", t("valid until"), " ", timeEl(quote.expires_at), " · ") : null, countdownEl),
        h("label", { for: "q-sort" }, "Sort by"), sortBy),
      h("p", { class: "help" }, "Each option is Pareto-optimal: none is cheaper, faster and greener than another at once."),
      table([["Labels"], ["Cost", "num"], ["Transit, days", "num"], ["CO₂e, kg", "num"], ["Departure", "time"], ["Arrival", "time"], ["Legs"], ["Basis"], [""]],
        rows, { id: "options", label: "Quote options" }));
    tickCountdown();
    out.querySelector("button.book")?.focus();
  }
  sortBy.addEventListener("change", () => { if (shownQuote) showOptions(shownQuote); });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await runQuote(body());
  });

  async function runQuote(payload) {
    lastPayload = payload;
    submit.disabled = true;
    submit.textContent = t("Planning…");
    clear(out).append(h("p", { class: "muted loading" }, "Planning routes…"));
    try {
      const quote = await api.post("/v1/quotes", payload, { idempotencyKey: api.newIdempotencyKey() });
      markErrors({});
      showOptions(quote);
    } catch (err) {
      markErrors(err);
      clear(out).append(err.unavailable ? failure("Quoting", err) : problemBox(err, { context: t("while quoting") }));
    } finally {
      submit.disabled = false;
      submit.textContent = t("Get quote");
    }
  }
  return { dispose: () => timers.forEach(clearInterval) };
}
