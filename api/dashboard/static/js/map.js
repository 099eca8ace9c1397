// The offline map: Natural Earth country shapes (world-atlas, vendored) drawn with d3-geo on SVG, zoom and
// pan with d3-zoom; the network's corridors and nodes; shipments as markers coloured by status and alarm;
// a waybill's planned route along its legs (sea legs through the lane waypoints of data/sea-lanes.json) and
// its actual track. d3 and topojson-client are loaded by index.html as globals (their UMD builds).

import { t } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";
let worldPromise = null;
let lanesPromise = null;

function world() {
  worldPromise ??= fetch("/static/vendor/world-atlas/countries-110m.json").then((r) => {
    if (!r.ok) throw new Error(`basemap: HTTP ${r.status}`);
    return r.json();
  }).then((topo) => window.topojson.feature(topo, topo.objects.countries));
  return worldPromise;
}

function lanes() {
  lanesPromise ??= fetch("/static/data/sea-lanes.json").then((r) => (r.ok ? r.json() : { legs: {} }))
    .then((d) => d.legs || {}).catch(() => ({}));
  return lanesPromise;
}

/** Status -> tone (the colours of the list's status pills). */
export const STATUS_TONE = {
  BOOKED: "planned", PICKED_UP: "moving", IN_TRANSIT: "moving", AT_HUB: "hold", AT_BORDER: "hold",
  CUSTOMS_HOLD: "warn", ARRIVED: "done", AT_WAREHOUSE: "done", OUT_FOR_DELIVERY: "moving",
  DELIVERED: "done", EXCEPTION: "bad", CANCELLED: "off",
};

function el(tag, attrs = {}) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  return e;
}

/** An SVG <title> (the hover text) with `text`. */
function titled(parent, text) {
  const title = el("title");
  title.textContent = text;
  parent.append(title);
}

/** Node lookup by id or UN/LOCODE (answers may carry either). */
export function nodeIndex(nodes) {
  const index = new Map();
  for (const n of nodes || []) {
    const id = n.id || n.node_id;
    if (id) index.set(id, n);
    if (n.unlocode) index.set(n.unlocode, n);
  }
  return index;
}

const lonlat = (n) => [Number(n.lon), Number(n.lat)];

/** The line of one leg: sea legs through their lane, others through the service's via nodes. */
export function legLine(leg, index, laneTable, services) {
  const a = index.get(leg.origin);
  const b = index.get(leg.destination);
  if (!a || !b) return null;
  const ida = a.id || a.node_id;
  const idb = b.id || b.node_id;
  let middle = [];
  if (leg.mode === "sea" || leg.mode === "river") {
    const fwd = laneTable[`${ida}-${idb}`];
    const back = laneTable[`${idb}-${ida}`];
    middle = fwd || (back ? [...back].reverse() : []);
  } else {
    const service = services?.get(leg.service_id);
    const via = leg.via || service?.via || [];
    middle = via.map((v) => index.get(v)).filter(Boolean).map(lonlat);
  }
  return [lonlat(a), ...middle, lonlat(b)];
}

/**
 * A map in `host` (an element); returns {setNetwork, setShipments, update, route, track, fit, ready}.
 * `onSelect(waybill_no)` is called when a marker is clicked or activated with Enter.
 */
export function createMap(host, { height = 420, onSelect, label = "Map", id, markerId } = {}) {
  const d3 = window.d3;
  const width = 960;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "geo-map", role: "img", "aria-label": t(label), id });
  const zoomLayer = el("g", { class: "zoom" });
  const gSphere = el("g", { class: "sphere" });
  const gLand = el("g", { class: "land" });
  const gCorridors = el("g", { class: "corridors" });
  const gRoute = el("g", { class: "route" });
  const gNodes = el("g", { class: "nodes" });
  const gShips = el("g", { class: "ships" });
  zoomLayer.append(gSphere, gLand, gCorridors, gRoute, gNodes, gShips);
  svg.append(zoomLayer);
  host.append(svg);

  const projection = d3.geoNaturalEarth1();
  // Default view: Yibin to the North Sea, the pilot zone's corridors.
  projection.fitExtent([[10, 10], [width - 10, height - 10]], {
    type: "MultiPoint", coordinates: [[-8, 58], [125, 58], [-8, 0], [125, 0]],
  });
  const path = d3.geoPath(projection);
  let k = 1;
  const ships = new Map(); // waybill_no -> {data, g}
  let index = new Map();

  const zoom = d3.zoom().scaleExtent([0.5, 40]).on("zoom", (ev) => {
    k = ev.transform.k;
    zoomLayer.setAttribute("transform", ev.transform.toString());
    svg.style.setProperty("--k", String(k));
    for (const c of svg.querySelectorAll("circle[data-r]")) c.setAttribute("r", String(Number(c.dataset.r) / k));
  });
  d3.select(svg).call(zoom);

  const ready = world().then((countries) => {
    gSphere.append(el("path", { d: path({ type: "Sphere" }), class: "ocean" }));
    gSphere.append(el("path", { d: path(d3.geoGraticule10()), class: "graticule" }));
    for (const f of countries.features) {
      gLand.append(el("path", { d: path(f), class: "country", "data-country": f.properties?.name || f.id }));
    }
  });

  function point(lon, lat) {
    return projection([Number(lon), Number(lat)]);
  }

  function circle(cx, cy, r, attrs) {
    return el("circle", { cx: cx.toFixed(2), cy: cy.toFixed(2), r: r / k, "data-r": r, ...attrs });
  }

  function setNetwork(nodes, services) {
    index = nodeIndex(nodes);
    gCorridors.replaceChildren();
    gNodes.replaceChildren();
    return lanes().then((laneTable) => {
      const byId = new Map((services || []).map((s) => [s.id, s]));
      for (const s of services || []) {
        const line = legLine({ origin: s.origin, destination: s.destination, mode: s.mode, via: s.via }, index, laneTable, byId);
        if (!line) continue;
        const p = el("path", { d: path({ type: "LineString", coordinates: line }), class: `corridor mode-${s.mode}` });
        titled(p, `${s.corridor || s.id} · ${t(s.mode)}`);
        gCorridors.append(p);
      }
      for (const n of nodes || []) {
        const xy = point(n.lon, n.lat);
        if (!xy) continue;
        const c = circle(xy[0], xy[1], 2.6, { class: `node kind-${n.kind || "node"}`, "data-node": n.id });
        titled(c, `${n.name} (${n.unlocode || n.id})`);
        gNodes.append(c);
      }
    });
  }

  function shipPosition(w) {
    if (w.position && w.position.lat !== undefined && w.position.lat !== null) return [w.position.lon, w.position.lat];
    const at = index.get(w.origin);
    return at && ["BOOKED", "PICKED_UP"].includes(w.status) ? [at.lon, at.lat] : null;
  }

  function drawShip(w) {
    const old = ships.get(w.waybill_no);
    const merged = { ...(old?.data || {}), ...w };
    const ll = shipPosition(merged);
    old?.g.remove();
    if (!ll) { ships.delete(w.waybill_no); return; }
    const xy = point(ll[0], ll[1]);
    if (!xy) return;
    const active = (merged.alarms || []).filter((a) => !a.cleared_at);
    const tone = STATUS_TONE[merged.status] || "planned";
    const g = el("g", {
      class: `ship tone-${tone}${active.length ? " alarmed" : ""}${merged.position ? "" : " unfixed"}`,
      "data-waybill": merged.waybill_no, "data-status": merged.status, tabindex: "0", role: "button", id: markerId,
    });
    if (active.length) g.append(circle(xy[0], xy[1], 9, { class: "halo" }));
    g.append(circle(xy[0], xy[1], 5.5, { class: "dot" }));
    titled(g, `${merged.waybill_no} · ${t(String(merged.status || "").replaceAll("_", " "))}${active.length ? ` · ${t("{n} open alarms", { n: active.length })}` : ""}`);
    if (onSelect) {
      g.addEventListener("click", () => onSelect(merged.waybill_no));
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter") onSelect(merged.waybill_no); });
    }
    gShips.append(g);
    ships.set(merged.waybill_no, { data: merged, g });
  }

  function setShipments(list) {
    gShips.replaceChildren();
    ships.clear();
    for (const w of list) drawShip(w);
  }

  /** A live status message: move (or add) the marker, recolour it. */
  function update(message) {
    if (!message?.waybill_no) return;
    drawShip(message);
  }

  /** A waybill's planned route (its legs) and its actual track ([lon, lat] points, oldest first). */
  function route(legs, actual = [], services = [], stops = []) {
    gRoute.replaceChildren();
    return lanes().then((laneTable) => {
      const byId = new Map((services || []).map((s) => [s.id, s]));
      for (const leg of legs || []) {
        const line = legLine(leg, index, laneTable, byId);
        if (!line) continue;
        gRoute.append(el("path", { d: path({ type: "LineString", coordinates: line }), class: `planned mode-${leg.mode}`, "data-leg": `${leg.origin}-${leg.destination}` }));
      }
      for (const stop of stops) {
        const xy = point(stop.lon, stop.lat);
        if (!xy) continue;
        const c = circle(xy[0], xy[1], 4, { class: `stop role-${stop.role || "via"}`, "data-node": stop.node_id });
        titled(c, stop.name || stop.node_id);
        gRoute.append(c);
      }
      if (actual.length > 1) gRoute.append(el("path", { d: path({ type: "LineString", coordinates: actual }), class: "actual" }));
      for (const [lon, lat] of actual) {
        const xy = point(lon, lat);
        if (xy) gRoute.append(circle(xy[0], xy[1], 2.2, { class: "fix" }));
      }
    });
  }

  /** Zoom to [lon, lat] points. */
  function fit(points) {
    if (!points.length) return;
    const xs = points.map((p) => point(p[0], p[1])).filter(Boolean);
    if (!xs.length) return;
    const [x0, x1] = d3.extent(xs, (p) => p[0]);
    const [y0, y1] = d3.extent(xs, (p) => p[1]);
    const scale = Math.min(8, 0.85 / Math.max((x1 - x0) / width, (y1 - y0) / height, 0.02));
    const tx = width / 2 - scale * (x0 + x1) / 2;
    const ty = height / 2 - scale * (y0 + y1) / 2;
    d3.select(svg).call(zoom.transform, d3.zoomIdentity.translate(tx, ty).scale(scale));
  }

  return { svg, ready, setNetwork, setShipments, update, route, fit, ships, nodes: () => index };
}
