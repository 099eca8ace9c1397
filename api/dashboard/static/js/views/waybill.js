// Waybill detail: summary, milestone timeline (planned / estimated / actual side by side), alarms,
// an SVG route map fitted to the stops, legs and the event log. Refreshes when the stream reports a change.

import * as api from "../api.js";
import { createMap } from "../map.js";
import { t } from "../i18n.js";

// Positions seen on the stream while this page is open, per waybill: the live part of the actual track.
const liveTrack = new Map();
import {
  h, s, clear, problemBox, statusPill, timeEl, fmtTime, fmtPosition, fmtDelta, fmtMoney, fmtNumber, hoursBetween, failure,
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
  return table([["Alarm"], ["Device"], ["Raised", "time"], ["Cleared", "time"], ["Detail"]],
    alarms.map((a) => h("tr", { class: a.cleared_at ? "cleared" : "active" },
      h("td", {}, h("span", { class: `pill ${a.cleared_at ? "tone-off" : "tone-bad"}` }, a.kind || "alarm")),
      h("td", { class: "mono" }, a.device_id || "—"),
      h("td", { class: "time" }, timeEl(a.raised_at)),
      h("td", { class: "time" }, timeEl(a.cleared_at)),
      h("td", { class: "detail" }, Object.entries(a).filter(([k]) => !["kind", "device_id", "raised_at", "cleared_at"].includes(k))
        .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ")))),
    { id: "alarms", label: "Alarms" });
}

/**
 * The route map: an equirectangular projection fitted to the stops (and the last position), x scaled by
 * cos(mean latitude) so the shape is not stretched; no tiles, so it works offline.
 */
export function routeMap(stops, position, { width = 720, height = 300, pad = 28 } = {}) {
  const pts = stops.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
  const all = position && Number.isFinite(position.lat) ? [...pts, position] : pts;
  if (!all.length) return h("p", { class: "muted" }, "No coordinates to draw.");
  const lats = all.map((p) => p.lat);
  const lons = all.map((p) => p.lon);
  const k = Math.cos(((Math.min(...lats) + Math.max(...lats)) / 2) * Math.PI / 180) || 1;
  const minX = Math.min(...lons) * k;
  const maxX = Math.max(...lons) * k;
  const minY = Math.min(...lats);
  const maxY = Math.max(...lats);
  const scale = Math.min((width - 2 * pad) / Math.max(maxX - minX, 1e-6), (height - 2 * pad) / Math.max(maxY - minY, 1e-6));
  const offX = (width - (maxX - minX) * scale) / 2;
  const offY = (height - (maxY - minY) * scale) / 2;
  const xy = (p) => [offX + (p.lon * k - minX) * scale, height - (offY + (p.lat - minY) * scale)];

  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "route-map", role: "img", id: "route-map",
    "aria-label": `Route map: ${pts.map((p) => p.name || p.node_id).join(" → ")}` });
  svg.append(s("rect", { x: 0, y: 0, width, height, class: "map-bg" }));
  // graticule every 10 degrees, for a sense of scale
  for (let lon = Math.ceil(Math.min(...lons) / 10) * 10; lon <= Math.max(...lons); lon += 10) {
    const [x] = xy({ lat: minY, lon });
    svg.append(s("line", { x1: x, x2: x, y1: 0, y2: height, class: "graticule" }));
  }
  for (let lat = Math.ceil(minY / 10) * 10; lat <= maxY; lat += 10) {
    const [, y] = xy({ lat, lon: Math.min(...lons) });
    svg.append(s("line", { x1: 0, x2: width, y1: y, y2: y, class: "graticule" }));
  }
  for (let i = 1; i < pts.length; i += 1) {
    const [x1, y1] = xy(pts[i - 1]);
    const [x2, y2] = xy(pts[i]);
    const mode = pts[i].mode_in || pts[i - 1].mode_out || "road";
    svg.append(s("line", { x1, y1, x2, y2, class: `leg mode-${mode}`, stroke: MODE_COLOURS[mode] || "#666" },
      s("title", {}, `${mode}: ${pts[i - 1].name || pts[i - 1].node_id} → ${pts[i].name || pts[i].node_id}`)));
  }
  // Labels: the first of above / below / right / left (then further out) that overlaps no label or stop.
  const taken = pts.map((p) => { const [x, y] = xy(p); return [x - 7, y - 7, x + 7, y + 7]; });
  const placeLabel = (x, y, w, W, H) => {
    const tries = [[x, y - 11, "middle"], [x, y + 19, "middle"], [x + 10, y + 4, "start"], [x - 10, y + 4, "end"],
      [x, y - 24, "middle"], [x, y + 32, "middle"], [x + 10, y - 10, "start"], [x - 10, y + 18, "end"]];
    const box = ([lx, ly, a]) => {
      const left = a === "middle" ? lx - w / 2 : a === "start" ? lx : lx - w;
      return [left, ly - 10, left + w, ly + 2];
    };
    const free = (b) => b[0] >= 0 && b[2] <= W && b[1] >= 0 && b[3] <= H
      && !taken.some((t) => b[0] < t[2] && b[2] > t[0] && b[1] < t[3] && b[3] > t[1]);
    const pick = tries.find((t) => free(box(t))) || tries[0];
    taken.push(box(pick));
    return pick;
  };
  pts.forEach((p) => {
    const [x, y] = xy(p);
    const g = s("g", { class: `stop role-${p.role || "hub"}`, "data-node": p.node_id });
    if (p.role === "border") g.append(s("rect", { x: x - 5, y: y - 5, width: 10, height: 10, transform: `rotate(45 ${x} ${y})` }));
    else g.append(s("circle", { cx: x, cy: y, r: p.role === "origin" || p.role === "destination" || p.role === "warehouse" ? 7 : 5 }));
    const text = p.unlocode || p.node_id || p.name || "";
    const [lx, ly, anchor] = placeLabel(x, y, text.length * 7, width, height);
    g.append(s("text", { x: lx, y: ly, "text-anchor": anchor }, text));
    g.append(s("title", {}, `${p.name || p.node_id} (${p.role || "stop"})${p.planned_arrival ? `, planned arrival ${fmtTime(p.planned_arrival)}` : ""}`));
    svg.append(g);
  });
  if (position && Number.isFinite(position.lat)) {
    const [x, y] = xy(position);
    svg.append(s("g", { class: "position", id: "map-position" },
      s("circle", { cx: x, cy: y, r: 11, class: "halo" }),
      s("circle", { cx: x, cy: y, r: 5 }),
      s("title", {}, `last position ${fmtPosition(position)}${position.at ? ` at ${fmtTime(position.at)}` : ""}`)));
  }
  const legend = h("div", { class: "legend" },
    Object.entries(MODE_COLOURS).filter(([m]) => pts.some((p) => p.mode_in === m || p.mode_out === m))
      .map(([m, c]) => h("span", { class: "legend-item" }, h("span", { class: "swatch", "data-colour": c, style: null }), m)),
    position ? h("span", { class: "legend-item" }, h("span", { class: "swatch position" }), "last position") : null);
  for (const sw of legend.querySelectorAll("[data-colour]")) sw.style.background = sw.dataset.colour;
  return h("figure", { class: "map" }, svg, h("figcaption", {}, legend));
}

function legsTable(legs, stopNames) {
  const name = (id) => stopNames.get(id) || id;
  return table([["#", "num"], ["Mode"], ["From"], ["To"], ["Departure", "time"], ["Arrival", "time"], ["Service"], ["Corridor"], ["km", "num"], ["Basis"]],
    (legs || []).map((l, i) => h("tr", {},
      h("td", { class: "num" }, String(i + 1)),
      h("td", {}, h("span", { class: `mode mode-${l.mode}` }, l.mode)),
      h("td", { class: "name" }, name(l.origin)), h("td", { class: "name" }, name(l.destination)),
      h("td", { class: "time" }, timeEl(l.departure)), h("td", { class: "time" }, timeEl(l.arrival)),
      h("td", { class: "mono" }, l.service_id || "—"), h("td", {}, l.corridor || "—"),
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
    clear(box).append(eventsTable(slice),
      pages > 1 ? h("div", { class: "pager" },
        h("button", { class: "btn small", type: "button", disabled: page === 0, onclick: () => { page -= 1; draw(); } }, "Newer"),
        h("span", { class: "muted" }, t("page {p} of {n}", { p: page + 1, n: pages })),
        h("button", { class: "btn small", type: "button", disabled: page >= pages - 1, onclick: () => { page += 1; draw(); } }, "Older")) : null);
  };
  draw();
  return box;
}

/** The actual track: ACT milestones' stops in time order, then the live fixes and the last position. */
function actualTrack(w, stops) {
  const at = new Map(stops.map((p) => [p.node_id, [p.lon, p.lat]]));
  const points = (w.milestones || []).filter((m) => m.classifier === "ACT" && at.has(m.location))
    .sort((a, b) => String(a.time).localeCompare(String(b.time))).map((m) => at.get(m.location));
  for (const p of liveTrack.get(w.waybill_no) || []) points.push(p);
  if (w.position && w.position.lat !== undefined && w.position.lat !== null) points.push([w.position.lon, w.position.lat]);
  return points;
}

function geoCard(w, stops) {
  const host = h("div", { class: "map-host small", id: "waybill-geo" });
  const card = h("div", { class: "card" }, h("h2", {}, "Map"), host,
    h("p", { class: "help map-legend" }, h("span", { class: "swatch planned" }), t("planned route"), " ",
      h("span", { class: "swatch actual" }), t("actual track")));
  const map = createMap(host, { height: 360, label: "Route map" });
  Promise.all([map.ready, api.network()]).then(async ([, net]) => {
    await map.setNetwork(net.nodes, []);
    await map.route(w.itinerary?.legs || [], actualTrack(w, stops), net.services);
    map.setShipments([w]);
    map.fit(stops.map((p) => [p.lon, p.lat]));
  }).catch((err) => host.append(failure("The network", err)));
  return card;
}

function eventsTable(events) {
  if (!events.length) return h("p", { class: "muted" }, "No events recorded.");
  return table([["#", "num"], ["Kind"], ["Code"], ["Class"], ["Location"], ["Event time", "time"], ["Recorded", "time"], ["Note"]],
    events.slice().reverse().map((e) => h("tr", { class: e.superseded_by ? "superseded" : null },
      h("td", { class: "num" }, String(e.id ?? "")),
      h("td", {}, e.kind || "—"), h("td", { class: "mono" }, e.code || "—"), h("td", {}, e.classifier || ""),
      h("td", { class: "mono" }, e.location || ""),
      h("td", { class: "time" }, timeEl(e.event_time)), h("td", { class: "time" }, timeEl(e.recorded_time)),
      h("td", { class: "detail" }, [e.inferred ? "inferred" : "", e.superseded_by ? `superseded by #${e.superseded_by}` : "",
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
    ["Route", `${w.origin || "—"} → ${w.destination || "—"}`],
    ["ETA", h("span", {}, timeEl(w.eta), delta !== null ? h("span", { class: delta > 1 ? "behind" : "muted" }, ` (${fmtDelta(delta)} vs plan)`) : null)],
    ["Planned arrival", timeEl(w.planned_arrival)],
    ["Deliver by", h("span", { class: late ? "behind" : null }, timeEl(w.deliver_by), late ? " — at risk" : null)],
    ["Last position", h("span", {}, fmtPosition(w.position), w.position?.at ? h("span", { class: "muted" }, " at ", timeEl(w.position.at)) : null)],
    ["Trackers", (w.trackers || []).join(", ") || "none attached"],
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
        h("div", { class: "card map-card" }, h("h2", {}, "Route"), routeMap(stops, w.position))),
      geoCard(w, stops),
      h("div", { class: "card" }, h("h2", {}, "Milestones"),
        h("p", { class: "help" }, "Planned (PLN), estimated (EST) and actual (ACT) side by side; Δ is actual or estimate against plan."),
        timeline(w.milestones, stopNames)),
      h("div", { class: "card" }, h("h2", {}, "Alarms"), alarmsList(w.alarms)),
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
    if (pos && pos.lat !== undefined && pos.lat !== null) {
      if (!liveTrack.has(waybillNo)) liveTrack.set(waybillNo, []);
      liveTrack.get(waybillNo).push([pos.lon, pos.lat]);
    }
    clearTimeout(timer); // coalesce bursts of updates into one reload
    timer = setTimeout(render, 300);
  };
  bus.addEventListener("waybill.status", onStatus);
  await render();
  return { dispose: () => { clearTimeout(timer); bus.removeEventListener("waybill.status", onStatus); } };
}
