// Waybill detail: summary, milestone timeline (planned / estimated / actual side by side), alarms,
// an SVG route map fitted to the stops, legs and the event log. Refreshes when the stream reports a change.

import * as api from "../api.js";
import { createMap } from "../map.js";
import { lineChart } from "../charts.js";
import { t } from "../i18n.js";

// Positions seen on the stream while this page is open, per waybill: the live part of the actual track.
const liveTrack = new Map();
// Readings ({at, temp_c, battery_pct}) seen on the stream and in the last position, per waybill.
const liveReadings = new Map();

// The stored readings' trusted positions, per waybill, read once when the page opens: the past of the track.
const pastTrack = new Map();

/** The waybill's stored readings (up to the latest 5000): their figures feed the condition charts, their
 * trusted positions the actual track. A failure leaves the charts to the stream. */
async function loadHistory(waybillNo) {
  try {
    const rows = await api.list(`/v1/waybills/${encodeURIComponent(waybillNo)}/readings`, { limit: 2000 }, { max: 5000 });
    for (const r of rows) remember(waybillNo, { ...r, at: r.ts });
    pastTrack.set(waybillNo, rows.filter((r) => !r.quarantine).map((r) => [r.lon, r.lat]));
  } catch {
    pastTrack.delete(waybillNo);
  }
}

function remember(waybillNo, pos) {
  if (!pos || !pos.at) return;
  if (!liveReadings.has(waybillNo)) liveReadings.set(waybillNo, new Map());
  liveReadings.get(waybillNo).set(pos.at, pos);
}

/** Condition: temperature against the cargo's range, battery, shock alarms; charts once there are readings. */
function conditionCard(w) {
  remember(w.waybill_no, w.position);
  const readings = [...(liveReadings.get(w.waybill_no)?.values() || [])].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  const range = Array.isArray(w.cargo?.temperature) ? w.cargo.temperature : null;
  const series = (key) => readings.filter((r) => r[key] !== undefined && r[key] !== null).map((r) => [new Date(r.at), Number(r[key])]);
  const temp = series("temp_c");
  const battery = series("battery_pct");
  const shocks = (w.alarms || []).filter((a) => a.kind === "shock");
  const last = readings.at(-1) || {};
  const figures = h("dl", { class: "condition" },
    h("div", {}, h("dt", {}, "Temperature"), h("dd", {}, last.temp_c !== undefined && last.temp_c !== null ? `${fmtNumber(last.temp_c, 1)} °C` : "—",
      range ? h("span", { class: "muted" }, " ", t("allowed {lo} to {hi} °C", { lo: range[0], hi: range[1] })) : null)),
    h("div", {}, h("dt", {}, "Battery"), h("dd", {}, last.battery_pct !== undefined && last.battery_pct !== null ? `${fmtNumber(last.battery_pct)} %` : "—")),
    h("div", {}, h("dt", {}, "Shock alarms"), h("dd", {}, String(shocks.length))));
  return h("div", { class: "card", id: "condition" }, h("h2", {}, "Condition"), figures,
    temp.length > 1 ? h("figure", { class: "chart" }, lineChart(temp, { band: range, label: "Temperature", unit: "°" }), h("figcaption", { class: "help" }, "Temperature against the cargo's range")) : null,
    battery.length > 1 ? h("figure", { class: "chart" }, lineChart(battery, { label: "Battery", unit: "%" }), h("figcaption", { class: "help" }, "Battery")) : null,
    temp.length <= 1 && battery.length <= 1 ? h("p", { class: "help" }, "Charts appear once the tracker has sent readings.") : null);
}
import {
  h, s, raw, append, clear, problemBox, statusPill, timeEl, fmtTime, fmtPosition, fmtDelta, fmtMoney, fmtNumber, hoursBetween, failure,
  emptyRow, table,
} from "../dom.js";

const MILESTONE_NAMES = {
  GTOT: "Gate out", DEPA: "Departure", ARRI: "Arrival", LOAD: "Loaded", DISC: "Discharged", CROS: "Border crossed",
  CUSS: "Customs selected", CUSI: "Customs inspection", CUSR: "Customs released", GTIN: "Gate in", DROP: "Delivered",
};
const MODE_COLOURS = { rail: "#b4541a", sea: "#1f5fa8", river: "#2a8c9e", air: "#7a3fb0", road: "#4b6b2d" };

/**
 * Timeline rows: one per (code, location) in planned order, each with its PLN, EST and ACT times; events with
 * no plan (an unplanned stop, a customs inspection) slot in by time.
 */
export function timelineRows(milestones) {
  const rows = new Map();
  const ordered = [...(milestones || [])].sort((a, b) => (Date.parse(a.time) || 0) - (Date.parse(b.time) || 0));
  for (const m of ordered.filter((x) => x.classifier === "PLN")) {
    const key = `${m.code}@${m.location}`;
    if (!rows.has(key)) rows.set(key, { code: m.code, location: m.location, PLN: m, EST: null, ACT: null });
  }
  for (const m of ordered.filter((x) => x.classifier !== "PLN")) {
    const key = `${m.code}@${m.location}`;
    const r = rows.get(key) || rows.set(key, { code: m.code, location: m.location, PLN: null, EST: null, ACT: null }).get(key);
    r[m.classifier] = m; // the latest of each classifier wins (the list is in time order)
  }
  // Planned rows keep their planned order; unplanned ones are placed by their own time (stable for ties).
  const when = (r) => Date.parse((r.PLN || r.ACT || r.EST).time) || 0;
  return [...rows.values()].sort((a, b) => when(a) - when(b));
}

function cell(m, cls) {
  if (!m) return h("td", { class: `time ${cls}` }, h("span", { class: "muted" }, "—"));
  return h("td", { class: `time ${cls}` }, timeEl(m.time),
    m.inferred ? h("span", { class: "badge inferred", title: "no reading inside the geofence: inferred from readings either side" }, "inferred") : null);
}

function timeline(milestones, stopNames) {
  const rows = timelineRows(milestones);
  const body = rows.length ? rows.map((r) => {
    const done = Boolean(r.ACT);
    const delta = r.PLN ? hoursBetween(r.PLN.time, (r.ACT || r.EST)?.time) : null;
    return h("tr", { class: done ? "done" : "pending", dataset: { code: r.code } },
      h("td", { class: "mono" }, h("abbr", { title: MILESTONE_NAMES[r.code] || r.code }, r.code)),
      h("td", {}, MILESTONE_NAMES[r.code] || ""),
      h("td", { class: "name" }, stopNames.get(r.location) || r.location || "—", r.location && stopNames.has(r.location) ? h("span", { class: "muted mono" }, ` ${r.location}`) : null),
      cell(r.PLN, "pln"), cell(r.EST, "est"), cell(r.ACT, "act"),
      h("td", { class: `num ${delta > 1 ? "behind" : delta < -1 ? "ahead" : ""}` }, delta === null ? "" : fmtDelta(delta)));
  }) : [emptyRow(7, "No milestones.")];
  return table([["Code"], ["Milestone"], ["Location"], ["Planned", "time"], ["Estimated", "time"], ["Actual", "time"], ["Δ", "num"]],
    body, { id: "timeline", label: "Milestones" });
}

function alarmsList(alarms) {
  if (!alarms?.length) return h("p", { class: "muted", id: "alarms" }, "No alarms.");
  const own = ["kind", "device_id", "raised_at", "cleared_at", "acknowledged", "acknowledged_by", "acknowledged_at", "assignee", "note"];
  return table([["Alarm"], ["Device"], ["Raised", "time"], ["Cleared", "time"], ["Handling"], ["Detail"]],
    alarms.map((a) => h("tr", { class: a.cleared_at ? "cleared" : "active" },
      h("td", {}, h("span", { class: `pill ${a.cleared_at ? "tone-off" : "tone-bad"}` }, a.kind || "alarm")),
      h("td", { class: "mono" }, a.device_id || "—"),
      h("td", { class: "time" }, timeEl(a.raised_at)),
      h("td", { class: "time" }, timeEl(a.cleared_at)),
      h("td", { class: "handling" }, a.acknowledged
        ? [h("span", {}, "Acknowledged"), a.assignee ? [" · ", raw(a.assignee)] : null, a.note ? [" · ", raw(a.note)] : null]
        : (a.cleared_at ? "—" : h("span", {}, "Not acknowledged"))),
      h("td", { class: "detail" }, Object.entries(a).filter(([k]) => !own.includes(k))
        .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ")))),
    { id: "alarms", label: "Alarms" });
}

function legsTable(legs, stopNames) {
  const name = (id) => stopNames.get(id) || id;
  return table([["#", "num"], ["Mode"], ["From"], ["To"], ["Departure", "time"], ["Arrival", "time"], ["Service"], ["Corridor"], ["km", "num"], ["Basis"]],
    (legs || []).map((l, i) => h("tr", {},
      h("td", { class: "num" }, String(i + 1)),
      h("td", {}, h("span", { class: `mode mode-${l.mode}` }, l.mode)),
      h("td", { class: "name" }, name(l.origin)), h("td", { class: "name" }, name(l.destination)),
      h("td", { class: "time" }, timeEl(l.departure)), h("td", { class: "time" }, timeEl(l.arrival)),
      h("td", { class: "mono" }, l.service_id || "—"), h("td", { class: "name" }, l.corridor || "—"),
      h("td", { class: "num" }, fmtNumber(l.distance_km)), h("td", {}, l.basis || "—"))),
    { id: "legs", label: "Legs" });
}

const EVENTS_PAGE = 25;

/** The event log, newest first, a page of 25 at a time. */
function eventsPaged(events) {
  const box = h("div", { class: "events-paged" });
  const newest = events.slice().reverse();
  let page = 0;
  const pages = Math.max(1, Math.ceil(newest.length / EVENTS_PAGE));
  const draw = () => {
    const slice = newest.slice(page * EVENTS_PAGE, (page + 1) * EVENTS_PAGE).reverse();
    append(clear(box), [eventsTable(slice),
      pages > 1 ? h("div", { class: "pager" },
        h("button", { class: "btn small", type: "button", disabled: page === 0, onclick: () => { page -= 1; draw(); } }, "Newer"),
        h("span", { class: "muted" }, t("page {p} of {n}", { p: page + 1, n: pages })),
        h("button", { class: "btn small", type: "button", disabled: page >= pages - 1, onclick: () => { page += 1; draw(); } }, "Older")) : null]);
  };
  draw();
  return box;
}

/** The actual track: the stored readings' positions (or the ACT milestones' stops), then the live fixes and the
 * last position. */
function actualTrack(w, stops) {
  const at = new Map(stops.map((p) => [p.node_id, [p.lon, p.lat]]));
  const past = pastTrack.get(w.waybill_no) || [];
  // Stored fixes when there are any; else the stops of the actual milestones.
  const points = past.length ? [...past] : (w.milestones || []).filter((m) => m.classifier === "ACT" && at.has(m.location))
    .sort((a, b) => String(a.time).localeCompare(String(b.time))).map((m) => at.get(m.location));
  for (const p of liveTrack.get(w.waybill_no) || []) points.push(p);
  if (w.position && w.position.lat !== undefined && w.position.lat !== null) points.push([w.position.lon, w.position.lat]);
  return points;
}

/** The waybill on the basemap: planned route along its legs (sea legs through the lanes), its stops, the
 * actual track and the last position; zoomed to the route. */
function geoMap(w, stops) {
  const host = h("div", { class: "map-host small", id: "waybill-geo" });
  const box = h("div", {}, host,
    h("p", { class: "help map-legend" }, h("span", { class: "swatch planned" }), t("planned route"), " ",
      h("span", { class: "swatch actual" }), t("actual track"), " · ", t("scroll to zoom, drag to pan")));
  const map = createMap(host, { height: 420, label: "Route map", id: "route-map", markerId: "map-position" });
  Promise.all([map.ready, api.network()]).then(async ([, net]) => {
    await map.setNetwork(net.nodes, []);
    await map.route(w.itinerary?.legs || [], actualTrack(w, stops), net.services, stops);
    map.setShipments([w]);
    map.fit(stops.map((p) => [p.lon, p.lat]));
  }).catch((err) => host.append(failure("The network", err)));
  return box;
}

function eventsTable(events) {
  if (!events.length) return h("p", { class: "muted" }, "No events recorded.");
  return table([["#", "num"], ["Kind"], ["Code"], ["Class"], ["Location"], ["Event time", "time"], ["Recorded", "time"], ["Note"]],
    events.slice().reverse().map((e) => h("tr", { class: e.superseded_by ? "superseded" : null },
      h("td", { class: "num" }, String(e.id ?? "")),
      h("td", {}, e.kind || "—"), h("td", { class: "mono" }, e.code || "—"), h("td", { class: "code" }, e.classifier || ""),
      h("td", { class: "mono" }, e.location || ""),
      h("td", { class: "time" }, timeEl(e.event_time)), h("td", { class: "time" }, timeEl(e.recorded_time)),
      h("td", { class: "detail" }, [e.inferred ? t("inferred") : "", e.superseded_by ? t("superseded by #{n}", { n: e.superseded_by }) : "",
        e.detail && e.kind !== "milestone" ? JSON.stringify(e.detail) : ""].filter(Boolean).join("; ")))),
    { id: "events", label: "Event log" });
}

function summary(w) {
  const delta = hoursBetween(w.planned_arrival, w.eta);
  const late = w.deliver_by && w.eta && hoursBetween(w.deliver_by, w.eta) > 0;
  const it = w.itinerary || {};
  const facts = [
    ["Status", statusPill(w.status)],
    ["Customs mode", w.customs_mode || "—"],
    ["Route", raw(`${w.origin || "—"} → ${w.destination || "—"}`)],
    ["ETA", h("span", {}, timeEl(w.eta), delta !== null ? h("span", { class: delta > 1 ? "behind" : "muted" }, ` (${t("{d} vs plan", { d: fmtDelta(delta) })})`) : null)],
    ["Planned arrival", timeEl(w.planned_arrival)],
    ["Deliver by", h("span", { class: late ? "behind" : null }, timeEl(w.deliver_by), late ? " — at risk" : null)],
    ["Last position", h("span", {}, fmtPosition(w.position), w.position?.at ? h("span", { class: "muted" }, " at ", timeEl(w.position.at)) : null)],
    ["Trackers", (w.trackers || []).length ? raw(w.trackers.join(", ")) : t("none attached")],
    ["Cost", fmtMoney(it.cost)],
    ["CO₂e", it.co2e_kg !== undefined ? `${fmtNumber(it.co2e_kg)} kg` : "—"],
  ];
  return h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
}

const DEVICE_KINDS = ["container", "truck", "parcel", "pallet", "reefer"];

/**
 * Trackers on this shipment: detach, attach a registered device, or register a new one and attach it.
 * The MQTT password of a new device is shown once, in `credsBox`, which survives live refreshes.
 */
function trackersCard(w, { me, credsBox, refresh }) {
  const path = `/v1/waybills/${encodeURIComponent(w.waybill_no)}/trackers`;
  const out = h("div", { "aria-live": "polite" });
  const canManage = ["forwarder", "admin", "unknown"].includes(me.role);
  const list = (w.trackers || []).length
    ? h("ul", { class: "trackers" }, w.trackers.map((d) => h("li", {}, h("span", { class: "mono" }, d), " ",
      canManage ? h("button", { class: "btn small", type: "button", "aria-label": `Detach ${d}`, onclick: async (e) => {
        e.currentTarget.disabled = true;
        try { await api.request("DELETE", `${path}/${encodeURIComponent(d)}`); await refresh(); } catch (err) { out.append(problemBox(err, { context: `while detaching ${d}` })); }
      } }, "Detach") : null)))
    : h("p", { class: "muted" }, "No tracker attached.");
  if (!canManage) return h("div", { class: "card", id: "trackers" }, h("h2", {}, "Trackers"), list);

  const device = h("input", { id: "t-device", name: "device_id", required: true, class: "mono", placeholder: "e.g. TRK-0042", autocomplete: "off" });
  const kind = h("select", { id: "t-kind", name: "kind" }, DEVICE_KINDS.map((k) => h("option", { value: k }, k)));
  const form = h("form", { class: "filters", id: "tracker-form" },
    h("label", { for: "t-device" }, "Device"), device,
    h("label", { for: "t-kind" }, "Kind (if new)"), kind,
    h("button", { class: "btn primary", type: "submit" }, "Attach"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = device.value.trim();
    if (!id) { device.focus(); return; }
    clear(out);
    try {
      try {
        await api.post(path, { device_id: id });
      } catch (err) {
        if (err.status !== 404 || !String(err.detail).includes(`device ${id}`)) throw err;
        // Not registered yet: register it (credentials shown once), then attach.
        const creds = await api.post("/v1/devices", { device_id: id, kind: kind.value }, { idempotencyKey: api.newIdempotencyKey() });
        clear(credsBox).append(h("div", { class: "note creds", role: "status" },
          h("strong", {}, `Device ${creds.device_id} registered. `), "Copy its MQTT password now; it is not shown again.",
          h("dl", { class: "facts" }, [["Username", creds.username], ["Password", creds.password], ["Telemetry topic", creds.topic],
            ["Status topic", creds.status_topic]].map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", { class: "mono" }, v ?? "—"))))));
        await api.post(path, { device_id: id });
      }
      await refresh();
    } catch (err) {
      out.append(problemBox(err, { context: `while attaching ${id}` }));
    }
  });
  return h("div", { class: "card", id: "trackers" }, h("h2", {}, "Trackers"), list, form, out);
}

export async function waybillView({ main, bus, me }, waybillNo) {
  const section = h("section", { class: "view", "aria-labelledby": "waybill-h" });
  const credsBox = h("div", { id: "device-credentials" });
  main.append(section);
  let timer = null;

  async function render() {
    // Fetch everything first, then swap the view in one go: a live refresh must not make the page jump.
    const path = `/v1/waybills/${encodeURIComponent(waybillNo)}`;
    const [wb, ev] = await Promise.allSettled([api.get(path), api.get(`${path}/events`, { limit: 1000 })]);
    if (wb.status === "rejected") {
      clear(section).append(h("h1", { id: "waybill-h" }, `Waybill ${waybillNo}`), failure("This waybill", wb.reason),
        h("p", {}, h("a", { href: "#/shipments" }, "← Back to shipments")));
      return;
    }
    const w = wb.value;
    const stops = w.itinerary?.stops || [];
    const stopNames = new Map(stops.map((p) => [p.node_id, p.name]));
    const scroll = window.scrollY;
    clear(section).append(
      h("div", { class: "view-head" },
        h("a", { href: "#/shipments", class: "back" }, "← Shipments"),
        h("h1", { id: "waybill-h" }, "Waybill ", h("span", { class: "mono" }, w.waybill_no))),
      h("div", { class: "detail-grid" },
        h("div", { class: "card" }, summary(w)),
        h("div", { class: "card map-card" }, h("h2", {}, "Route"), geoMap(w, stops))),
      h("div", { class: "card" }, h("h2", {}, "Milestones"),
        h("p", { class: "help" }, "Planned (PLN), estimated (EST) and actual (ACT) side by side; Δ is actual or estimate against plan."),
        timeline(w.milestones, stopNames)),
      h("div", { class: "card" }, h("h2", {}, "Alarms"), alarmsList(w.alarms)),
      conditionCard(w),
      credsBox,
      trackersCard(w, { me, credsBox, refresh: render }),
      h("div", { class: "card" }, h("h2", {}, "Legs"), legsTable(w.itinerary?.legs, stopNames)),
      h("div", { class: "card" }, h("h2", {}, "Event log"),
        ev.status === "fulfilled" ? eventsPaged(api.items(ev.value)) : failure("The event log", ev.reason)));
    window.scrollTo({ top: scroll });
  }

  const onStatus = (ev) => {
    if (ev.detail?.waybill_no !== waybillNo) return;
    const pos = ev.detail.position;
    remember(waybillNo, pos);
    if (pos && pos.lat !== undefined && pos.lat !== null) {
      if (!liveTrack.has(waybillNo)) liveTrack.set(waybillNo, []);
      liveTrack.get(waybillNo).push([pos.lon, pos.lat]);
    }
    clearTimeout(timer); // coalesce bursts of updates into one reload
    timer = setTimeout(render, 300);
  };
  bus.addEventListener("waybill.status", onStatus);
  liveTrack.delete(waybillNo); // the stored readings hold what the stream delivered before
  await loadHistory(waybillNo);
  await render();
  return { dispose: () => { clearTimeout(timer); bus.removeEventListener("waybill.status", onStatus); } };
}
