// Inbound (advance shipping notices and counted receipts) and replenishment suggestions: panels of the
// warehouse view. Sellers announce stock on its way; operators count what arrived at their dock.

import * as api from "../api.js";
import { h, append, clear, statusPill, timeEl, fmtNumber, fmtPosition, failure, problemBox, emptyRow, table, toast } from "../dom.js";

/** "SKU qty [lot]" per line. */
export function parseInboundLines(text) {
  const lines = [];
  const errors = [];
  text.split(/\n/).map((l) => l.trim()).filter(Boolean).forEach((l, i) => {
    const m = l.match(/^(\S+)\s+(\d+)(?:\s+(\S+))?$/);
    if (!m) errors.push({ field: `lines.${i}`, message: `line ${i + 1}: write "SKU quantity [lot]"` });
    else lines.push(m[3] ? { sku: m[1], qty: Number(m[2]), lot: m[3] } : { sku: m[1], qty: Number(m[2]) });
  });
  return { lines, errors };
}

/** The inbound panel. `warehouses` resolves to the warehouse rows the key may see. */
export function inboundPanel({ me, warehouses, onReceived }) {
  const canAnnounce = ["seller", "admin", "unknown"].includes(me.role);
  const canReceive = ["operator", "admin", "unknown"].includes(me.role);
  const box = h("div", { "aria-live": "polite" });
  const lookup = h("input", { id: "asn-id", name: "inbound_id", placeholder: "inbound id", class: "mono" });
  const idempotency = new Map();
  const keyFor = (body) => {
    const k = JSON.stringify(body);
    if (!idempotency.has(k)) idempotency.set(k, api.newIdempotencyKey());
    return idempotency.get(k);
  };

  function show(asn) {
    lookup.value = asn.id;
    const counting = canReceive && asn.status !== "RECEIVED";
    const counts = new Map();
    const rows = (asn.lines || []).map((l) => {
      const count = h("input", {
        type: "number", min: "0", step: "1", value: String(Math.max(0, (l.expected ?? 0) - (l.received ?? 0))),
        class: "count-input", "aria-label": `Counted ${l.sku}${l.lot ? ` lot ${l.lot}` : ""}`,
      });
      counts.set(l, count);
      return h("tr", { dataset: { sku: l.sku } },
        h("td", { class: "mono" }, l.sku), h("td", { class: "mono" }, l.lot || "—"),
        h("td", { class: "num" }, fmtNumber(l.expected)), h("td", { class: "num" }, fmtNumber(l.received)),
        h("td", { class: `num ${l.short ? "behind" : ""}` }, fmtNumber(l.short ?? 0)),
        h("td", { class: `num ${l.surplus ? "warn" : ""}` }, fmtNumber(l.surplus ?? 0)),
        counting ? h("td", { class: "num" }, count) : null);
    });
    const head = [["SKU"], ["Lot"], ["Expected", "num"], ["Received", "num"], ["Short", "num"], ["Surplus", "num"]];
    if (counting) head.push(["Counted now", "num"]);
    const receive = h("button", { class: "btn primary", type: "button", id: "asn-receive" }, "Record receipt");
    receive.addEventListener("click", async () => {
      const lines = [...counts].map(([l, input]) => ({ sku: l.sku, qty: Number(input.value), ...(l.lot ? { lot: l.lot } : {}) }));
      const body = { lines };
      receive.disabled = true;
      try {
        await api.post(`/v1/inbound/${encodeURIComponent(asn.id)}/receipts`, body, { idempotencyKey: keyFor({ id: asn.id, ...body }) });
        toast(`Receipt recorded for ${asn.id}`, "ok");
        show(await api.get(`/v1/inbound/${encodeURIComponent(asn.id)}`));
        changed();
      } catch (err) {
        box.prepend(problemBox(err, { context: "while recording the receipt" }));
        receive.disabled = false;
      }
    });
    append(clear(box), [
      h("p", {}, "Inbound ", h("strong", { class: "mono" }, asn.id), ` to ${asn.warehouse} `, statusPill(asn.status),
        asn.waybill_no ? h("span", {}, " · waybill ", h("a", { href: `#/waybills/${encodeURIComponent(asn.waybill_no)}`, class: "mono" }, asn.waybill_no)) : null,
        asn.expected_at ? h("span", { class: "muted" }, " · expected ", timeEl(asn.expected_at)) : null,
        asn.received_at ? h("span", { class: "muted" }, " · received ", timeEl(asn.received_at)) : null),
      table(head, rows.length ? rows : [emptyRow(head.length, "No lines.")], { id: "asn-lines", label: "Inbound lines" }),
      counting ? h("div", { class: "actions" }, receive,
        h("span", { class: "help" }, "Discrepancies are kept; surplus goes to quarantine.")) : null,
    ]);
  }

  const whSelect = h("select", { id: "asn-warehouse", name: "warehouse", required: true });
  const waybill = h("input", { id: "asn-waybill", name: "waybill_no", placeholder: "optional", class: "mono" });
  const lines = h("textarea", { id: "asn-lines-input", name: "lines", rows: 2, placeholder: "SKU quantity [lot], one per line" });
  warehouses.then((rows) => whSelect.append(...rows.map((w) => h("option", { value: w.code }, `${w.code} · ${w.name || ""}`))));

  const announce = h("form", { id: "asn-form", class: "asn-form" },
    h("div", { class: "form-grid" },
      h("div", { class: "field" }, h("label", { for: "asn-warehouse" }, "Warehouse"), whSelect),
      h("div", { class: "field" }, h("label", { for: "asn-waybill" }, "Waybill"), waybill),
      h("div", { class: "field wide" }, h("label", { for: "asn-lines-input" }, "Lines"), lines)),
    h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, "Announce inbound")));
  announce.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const parsed = parseInboundLines(lines.value);
    if (parsed.errors.length || !parsed.lines.length || !whSelect.value) {
      const errors = parsed.errors.length ? parsed.errors : [{ field: "lines", message: "at least one line" }];
      if (!whSelect.value) errors.push({ field: "warehouse", message: "choose a warehouse" });
      clear(box).append(problemBox({ problem: { title: "Check the notice", detail: "Some fields need attention.", errors } }));
      return;
    }
    const body = { warehouse: whSelect.value, lines: parsed.lines };
    if (waybill.value.trim()) body.waybill_no = waybill.value.trim();
    try {
      show(await api.post("/v1/inbound", body, { idempotencyKey: keyFor(body) }));
      changed();
    } catch (err) {
      clear(box).append(err.unavailable ? failure("Inbound", err) : problemBox(err, { context: "while announcing the inbound" }));
    }
  });

  // The newest notices the key may see (GET /v1/inbound), each opening into the counting view above.
  const recent = h("div", {});
  async function loadRecent() {
    try {
      const rows = api.items(await api.get("/v1/inbound?limit=10"));
      const head = [["Inbound"], ["Warehouse"], ["Status"], ["Waybill"], ["Expected", "time"], ["Lines", "num"]];
      clear(recent).append(table(head, rows.length ? rows.map((a) => {
        const open = h("button", { class: "btn mono", type: "button", "aria-label": `Show inbound ${a.id}` }, a.id);
        open.addEventListener("click", () => show(a));
        return h("tr", { dataset: { id: a.id } },
          h("td", {}, open), h("td", { class: "mono" }, a.warehouse), h("td", {}, statusPill(a.status)),
          h("td", { class: "mono" }, a.waybill_no || "—"), h("td", { class: "time" }, timeEl(a.expected_at)),
          h("td", { class: "num" }, fmtNumber((a.lines || []).length)));
      }) : [emptyRow(head.length, "No inbound notices.")], { id: "asn-recent", label: "Newest inbound notices" }));
    } catch (err) {
      clear(recent).append(failure("Inbound notices", err));
    }
  }
  const changed = () => { loadRecent(); onReceived?.(); };
  loadRecent();

  const find = h("form", { class: "filters", role: "search" },
    h("label", { for: "asn-id" }, "Look up"), lookup, h("button", { class: "btn", type: "submit" }, "Show"));
  find.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = lookup.value.trim();
    if (!id) { lookup.focus(); return; }
    try {
      show(await api.get(`/v1/inbound/${encodeURIComponent(id)}`));
    } catch (err) {
      clear(box).append(failure("This inbound", err));
    }
  });

  return h("section", { class: "card panel", id: "p-inbound", "aria-labelledby": "p-inbound-h" },
    h("h2", { id: "p-inbound-h" }, "Inbound"), canReceive && me.role !== "unknown" ? incomingBox(warehouses) : null,
    canAnnounce ? announce : null, recent, find, box);
}

/** Containers heading to the operator's warehouses (GET /v1/warehouses/{code}/incoming): the notice and the
 * shipment's status, live ETA and last position, soonest first. */
function incomingBox(warehouses) {
  const out = h("div", { id: "incoming" }, h("p", { class: "muted" }, "Loading…"));
  const refresh = h("button", { class: "btn small", type: "button", id: "incoming-refresh" }, "Refresh");
  async function load() {
    try {
      const codes = (await warehouses).map((w) => w.code);
      const answers = await Promise.all(codes.map((c) => api.get(`/v1/warehouses/${encodeURIComponent(c)}/incoming`)));
      const rows = answers.flatMap((a) => (a.items || []).map((i) => ({ ...i, warehouse: a.warehouse })));
      const when = (r) => Date.parse(r.shipment?.eta || r.expected_at || "") || Infinity;
      rows.sort((a, b) => when(a) - when(b));
      const head = [["Warehouse"], ["Notice"], ["Waybill"], ["Shipment"], ["ETA", "time"], ["Last position"], ["Notice status"]];
      clear(out).append(table(head, rows.length ? rows.map((r) => h("tr", { dataset: { waybill: r.waybill_no || "", id: r.id } },
        h("td", { class: "mono" }, r.warehouse),
        h("td", {}, h("span", {}, r.kind === "transfer" ? "Transfer" : "Inbound"), " ", h("span", { class: "mono" }, r.id)),
        h("td", { class: "mono" }, r.waybill_no || "—"),
        h("td", {}, r.shipment ? statusPill(r.shipment.status) : "—"),
        h("td", { class: "time" }, timeEl(r.shipment?.eta || r.expected_at)),
        h("td", { class: "mono" }, fmtPosition(r.shipment?.position)),
        h("td", {}, statusPill(r.status)))) : [emptyRow(head.length, "Nothing is heading to your warehouses.")],
        { id: "incoming-list", label: "Incoming containers" }));
    } catch (err) {
      clear(out).append(failure("Incoming containers", err));
    }
  }
  refresh.addEventListener("click", load);
  load();
  return h("div", { class: "incoming" }, h("h3", {}, "Incoming containers", " ", refresh),
    h("p", { class: "help" }, "Shipments bound to your warehouses, with their live ETA."), out);
}

/** Replenishment suggestions: what to ship from Yibin, by when and by which corridor, before a stock-out. */
export async function replenishmentPanel() {
  const box = h("div", {});
  const panel = h("section", { class: "card panel", id: "p-replenishment", "aria-labelledby": "p-replenishment-h" },
    h("h2", { id: "p-replenishment-h" }, "Replenishment"), box);
  try {
    const rows = api.items(await api.get("/v1/replenishment"));
    box.append(table(
      [["Warehouse"], ["SKU"], ["Stock", "num"], ["Per day", "num"], ["Stock-out", "time"], ["Ship by", "time"], ["Qty", "num"], ["Corridor"], ["Transit, days", "num"], ["Note"]],
      rows.length ? rows.map((r) => h("tr", { class: r.ship_by && Date.parse(r.ship_by) < Date.parse(r.computed_at) ? "late" : null,
        title: r.ship_by && Date.parse(r.ship_by) < Date.parse(r.computed_at) ? "the ship-by date had passed when this was computed" : null },
        h("td", { class: "mono" }, r.warehouse), h("td", { class: "mono" }, r.sku),
        h("td", { class: "num" }, fmtNumber(r.stock)), h("td", { class: "num" }, fmtNumber(r.daily_demand, 1)),
        h("td", { class: "time" }, timeEl(r.stockout_at)), h("td", { class: "time" }, timeEl(r.ship_by)),
        h("td", { class: "num strong" }, fmtNumber(r.suggested_qty)), h("td", {}, r.corridor || "—"),
        h("td", { class: "num" }, r.transit_hours == null ? "—" : fmtNumber(r.transit_hours / 24, 1)),
        h("td", { class: "detail" }, r.note || ""))) : [emptyRow(10, "No suggestions: no SKU is heading for a stock-out.")],
      { id: "replenishment", label: "Replenishment suggestions" }));
  } catch (err) {
    box.append(failure("Replenishment", err));
  }
  return panel;
}
