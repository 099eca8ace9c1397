// Overview: what needs attention first, per role. Counts by status, late and at-risk shipments, open alarms,
// inbound due this week per warehouse, CO2e this month and volumes by customs mode and corridor (from the
// statistics API where it is served), each a chart whose bars link to the filtered list; the fleet map.

import * as api from "../api.js";
import { h, clear, failure, raw } from "../dom.js";
import { t, fmtNum } from "../i18n.js";
import { barChart } from "../charts.js";
import { createMap, STATUS_TONE } from "../map.js";

const DONE = new Set(["ARRIVED", "AT_WAREHOUSE", "DELIVERED", "CANCELLED"]);

/** Late: the ETA is after deliver-by, or planned arrival has passed without arriving. At risk: ETA > 12 h behind plan. */
export function lateness(w, now) {
  if (DONE.has(w.status)) return null;
  const eta = Date.parse(w.eta || "");
  const due = Date.parse(w.deliver_by || "");
  const plan = Date.parse(w.planned_arrival || "");
  if (Number.isFinite(eta) && Number.isFinite(due) && eta > due) return "late";
  if (Number.isFinite(plan) && plan < now) return "late";
  if (Number.isFinite(eta) && Number.isFinite(plan) && eta - plan > 12 * 3.6e6) return "at-risk";
  return null;
}

/** No reading ever and planned arrival passed: the shipment cannot be seen, so it cannot be called on time. */
export function untracked(w, now) {
  const plan = Date.parse(w.planned_arrival || "");
  return !DONE.has(w.status) && !w.position && Number.isFinite(plan) && plan < now;
}

function card(id, title, ...body) {
  return h("section", { class: "card kpi-card", id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, title), ...body);
}

function figure(value, label, href, tone = "") {
  return h("a", { class: `figure ${tone}`, href }, h("span", { class: "figure-value" }, fmtNum(value)), h("span", { class: "figure-label" }, label));
}

export async function overviewView({ main, me, bus, navigate, serviceNow }) {
  const mapHost = h("div", { class: "map-host", "data-testid": "fleet-map", id: "fleet-map" });
  const mapNote = h("p", { class: "help map-legend" },
    h("span", { class: "swatch tone-moving" }), t("moving"), " ", h("span", { class: "swatch tone-hold" }), t("at a hub or border"), " ",
    h("span", { class: "swatch tone-warn" }), t("customs hold"), " ", h("span", { class: "swatch tone-bad" }), t("exception"), " ",
    h("span", { class: "swatch alarm" }), t("open alarm"), " · ", t("scroll to zoom, drag to pan"));
  const statusBox = h("div", { class: "chart-box" }, h("p", { class: "muted" }, "Loading…"));
  const attention = h("div", { class: "figures" });
  const alarmBox = h("div", { class: "chart-box" });
  const modeBox = h("div", { class: "chart-box" });
  const corridorBox = h("div", { class: "chart-box" });
  const inboundBox = h("div", { class: "chart-box" });
  const co2Box = h("div", { class: "figures" });
  const showInbound = ["operator", "seller", "admin", "unknown"].includes(me.role);

  main.append(h("section", { class: "view overview", "data-testid": "overview", "aria-labelledby": "ov-h" },
    h("div", { class: "view-head" }, h("h1", { id: "ov-h" }, "Overview")),
    h("div", { class: "overview-grid" },
      card("ov-attention", "Needs attention", attention),
      card("ov-status", "Shipments by status", statusBox),
      card("ov-alarms", "Open alarms by kind", alarmBox),
      showInbound ? card("ov-inbound", "Inbound due this week", inboundBox) : null,
      card("ov-co2", "CO₂e this month", co2Box),
      card("ov-modes", "Volumes by customs mode", modeBox),
      card("ov-corridors", "Volumes by corridor", corridorBox)),
    h("section", { class: "card", "aria-labelledby": "fleet-h" }, h("h2", { id: "fleet-h" }, "Fleet map"), mapHost, mapNote)));

  const map = createMap(mapHost, { height: 440, label: "Fleet map", onSelect: (no) => navigate(`#/waybills/${encodeURIComponent(no)}`) });
  const now = (serviceNow?.() || new Date()).getTime();

  let waybills = [];
  try {
    waybills = await api.list("/v1/waybills", { limit: 500 }, { max: 2000 });
  } catch (err) {
    clear(statusBox).append(failure("The shipment list", err));
  }

  // status counts
  const counts = new Map();
  for (const w of waybills) counts.set(w.status, (counts.get(w.status) || 0) + 1);
  clear(statusBox).append(counts.size
    ? barChart([...counts].sort((a, b) => b[1] - a[1]).map(([s, n]) => ({
      label: s.replaceAll("_", " "), value: n, href: `#/shipments?status=${s}`, tone: STATUS_TONE[s] || "planned",
    })), { label: "Shipments by status" })
    : h("p", { class: "muted" }, "No shipments yet."));

  // attention figures
  const late = waybills.filter((w) => lateness(w, now) === "late");
  const risk = waybills.filter((w) => lateness(w, now) === "at-risk");
  const alarms = waybills.flatMap((w) => (w.alarms || []).filter((a) => !a.cleared_at).map((a) => ({ ...a, waybill_no: w.waybill_no })));
  const dark = waybills.filter((w) => untracked(w, now));
  attention.append(
    figure(late.length, t("late"), "#/alerts", late.length ? "bad" : ""),
    figure(risk.length, t("at risk"), "#/alerts", risk.length ? "warn" : ""),
    figure(alarms.length, t("open alarms"), "#/alerts", alarms.length ? "bad" : ""),
    figure(dark.length, t("no tracking data"), "#/alerts", dark.length ? "warn" : ""));

  const kinds = new Map();
  for (const a of alarms) kinds.set(a.kind, (kinds.get(a.kind) || 0) + 1);
  alarmBox.append(kinds.size
    ? barChart([...kinds].map(([k, n]) => ({ label: k.replaceAll("_", " "), value: n, href: "#/alerts", tone: "bad" })), { label: "Open alarms by kind" })
    : h("p", { class: "muted" }, "No open alarms."));

  // customs modes from the list (every waybill carries its mode)
  const modes = new Map();
  for (const w of waybills) if (w.customs_mode) modes.set(w.customs_mode, (modes.get(w.customs_mode) || 0) + 1);
  modeBox.append(modes.size
    ? barChart([...modes].sort().map(([m, n]) => ({ label: m, raw: true, value: n, href: `#/shipments?customs_mode=${m}` })), { label: "Volumes by customs mode" })
    : h("p", { class: "muted" }, "No shipments yet."));

  // corridors and CO2e: the statistics API, where served
  statsFigures(corridorBox, co2Box, now);

  // inbound due this week per warehouse (sellers and operators)
  if (showInbound) {
    api.list("/v1/inbound", { limit: 200 }, { max: 1000 }).then((rows) => {
      const weekEnd = now + 7 * 86400e3;
      const due = new Map();
      for (const r of rows) {
        const at = Date.parse(r.expected_at || "");
        if (r.received_at || !Number.isFinite(at) || at > weekEnd) continue;
        due.set(r.warehouse, (due.get(r.warehouse) || 0) + 1);
      }
      clear(inboundBox).append(due.size
        ? barChart([...due].map(([w, n]) => ({ label: w, raw: true, value: n, href: "#/warehouses/inbound" })), { label: "Inbound due this week" })
        : h("p", { class: "muted" }, "Nothing due this week."));
    }).catch((err) => clear(inboundBox).append(failure("Inbound", err)));
  }

  // the fleet map: network, markers, live moves
  try {
    const net = await api.network();
    await map.ready;
    await map.setNetwork(net.nodes, net.services);
  } catch (err) {
    mapHost.append(failure("The network", err));
  }
  map.setShipments(waybills.filter((w) => !["DELIVERED", "CANCELLED"].includes(w.status)));
  const onStatus = (ev) => map.update(ev.detail);
  bus.addEventListener("waybill.status", onStatus);
  return { dispose: () => bus.removeEventListener("waybill.status", onStatus) };
}

async function statsFigures(corridorBox, co2Box, now) {
  if (!(await api.hasPath("/v1/stats/shipments"))) {
    corridorBox.append(h("p", { class: "muted" }, "The statistics service is not available on this server yet."));
    co2Box.append(h("p", { class: "muted" }, "The statistics service is not available on this server yet."));
    return;
  }
  const month = new Date(now).toISOString().slice(0, 7);
  try {
    const byCorridor = await api.get("/v1/stats/shipments", { group_by: "corridor" });
    const rows = (byCorridor?.rows || []).filter((r) => r.corridor);
    corridorBox.append(rows.length
      ? barChart(rows.map((r) => ({ label: r.corridor, raw: true, value: r.shipments, href: "#/stats" })), { label: "Volumes by corridor" })
      : h("p", { class: "muted" }, "No shipments yet."));
    const from = `${month}-01T00:00:00Z`;
    const thisMonth = await api.get("/v1/stats/shipments", { group_by: "customs_mode", from });
    co2Box.append(h("a", { class: "figure", href: "#/stats" },
      h("span", { class: "figure-value" }, fmtNum(thisMonth?.totals?.co2e_kg ?? 0)), h("span", { class: "figure-label" }, t("kg CO₂e")),
      raw(month, "span", { class: "figure-label" })));
  } catch (err) {
    corridorBox.append(failure("Statistics", err));
  }
}
