// Warehouses: the network's warehouses, inventory, orders (create, pick, cancel, ship) and returns (with the
// units waiting for refurbishment, restocked or disposed by operators).
// Each panel loads on its own and says "not available" when its endpoint is missing, so one absent
// endpoint never blanks the view.

import * as api from "../api.js";
import { inboundPanel, replenishmentPanel } from "./inbound.js";
import { deliveryPanel } from "./delivery.js";
import { h, append, clear, statusPill, timeEl, fmtNumber, failure, problemBox, emptyRow, table, toast, raw } from "../dom.js";
import { t } from "../i18n.js";

function panel(id, title, ...children) {
  return h("section", { class: "card panel", id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, title), ...children);
}

/** "SKU qty" per line (or "SKU, qty"): the order lines of the form. */
export function parseLines(text) {
  const lines = [];
  const errors = [];
  text.split(/\n/).map((l) => l.trim()).filter(Boolean).forEach((l, i) => {
    const m = l.match(/^(\S+?)[\s,;x×]+(\d+)$/);
    if (!m) errors.push({ field: `lines.${i}`, message: `line ${i + 1}: write "SKU quantity", e.g. "MUG-01 3"` });
    else lines.push({ sku: m[1], qty: Number(m[2]) });
  });
  return { lines, errors };
}

/** The allocation's stored explanation: a list of rule outcomes, or text. */
function explain(explanation) {
  if (!explanation) return "";
  if (Array.isArray(explanation)) return explanation.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join(" · ");
  return typeof explanation === "string" ? explanation : JSON.stringify(explanation);
}

function warehousesTable(rows) {
  return table([["Code"], ["Name"], ["Country"], ["Node"], ["Position"], ["Handling", "num"]],
    rows.length ? rows.map((w) => h("tr", { dataset: { warehouse: w.code } },
      h("td", { class: "mono" }, w.code), h("td", {}, w.name || "—"), h("td", {}, w.country || "—"),
      h("td", { class: "mono" }, w.node_id || "—"),
      h("td", { class: "mono" }, w.lat !== undefined ? `${Number(w.lat).toFixed(3)}, ${Number(w.lon).toFixed(3)}` : "—"),
      h("td", { class: "num" }, w.handling_cost ? `${w.handling_cost.amount} ${w.handling_cost.currency}` : "—")))
      : [emptyRow(6, "No warehouses visible to this key.")],
    { id: "warehouses", label: "Warehouses" });
}

const INVENTORY_HEAD = [["Seller"], ["Warehouse"], ["SKU"], ["Lot"], ["Expires"], ["On hand", "num"], ["Reserved", "num"], ["Available", "num"],
  ["Quarantine", "num"], ["Returns", "num"], ["Refurbish", "num"], ["In transit", "num"]];

/** Sellers see their own stock only; operators and admins see whose stock each row is. */
function inventoryTable(rows, { sellerColumn }) {
  const head = sellerColumn ? INVENTORY_HEAD : INVENTORY_HEAD.slice(1);
  return table(head,
    rows.length ? rows.map((r) => h("tr", { class: r.expired ? "expired" : null, dataset: { sku: r.sku, warehouse: r.warehouse } },
      sellerColumn ? h("td", { class: "name", title: r.seller_id || null }, r.seller_name || r.seller_id || "—") : null,
      h("td", { class: "mono" }, r.warehouse), h("td", { class: "mono" }, r.sku), h("td", { class: "mono" }, r.lot || "—"),
      h("td", { class: r.expired ? "behind" : null }, r.expires_on || "—", r.expired ? " (expired)" : ""),
      h("td", { class: "num" }, fmtNumber(r.on_hand)), h("td", { class: "num" }, fmtNumber(r.reserved)),
      h("td", { class: `num strong ${Number(r.available) <= 0 ? "behind" : ""}` }, fmtNumber(r.available)),
      h("td", { class: `num ${Number(r.quarantine) > 0 ? "warn" : ""}` }, fmtNumber(r.quarantine)),
      h("td", { class: "num" }, fmtNumber(r.returns ?? 0)), h("td", { class: "num" }, fmtNumber(r.refurbish ?? 0)),
      h("td", { class: "num" }, fmtNumber(r.in_transit))))
      : [emptyRow(head.length, "No stock matches.")],
    { id: "inventory", label: "Inventory" });
}

const PAGES = [
  ["inventory", "Inventory", "p-inventory"], ["orders", "Orders", "p-orders"], ["inbound", "Inbound", "p-inbound"],
  ["returns", "Returns", "p-returns"], ["delivery", "Delivery runs", "p-delivery"],
  ["replenishment", "Replenishment", "p-replenishment"], ["network", "Warehouse network", "p-warehouses"],
];

/** Confirm a destructive action in the user's language. */
function confirmed(question, params) {
  return window.confirm(t(question, params));
}

export async function warehousesView({ main, me }, page = null) {
  const whBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const whFilter = h("select", { id: "inv-warehouse", name: "warehouse" }, h("option", { value: "" }, "All warehouses"));
  const skuFilter = h("input", { id: "inv-sku", name: "sku", placeholder: "any SKU", "data-filter": true, autocomplete: "off" });
  const invBox = h("div", {});
  const ordersBox = h("div", {});
  const returnsBox = h("div", {});

  const orderRef = h("input", { id: "o-ref", name: "order_ref", required: true, placeholder: "e.g. SHOP-10023" });
  const country = h("input", { id: "o-country", name: "country", required: true, maxlength: 2, size: 3, placeholder: "DE" });
  const postcode = h("input", { id: "o-postcode", name: "postcode", placeholder: "optional" });
  // The delivery run places an address without coordinates by its city (the offline gazetteer has no postcodes).
  const city = h("input", { id: "o-city", name: "city", maxlength: 80, placeholder: "optional" });
  const lines = h("textarea", { id: "o-lines", name: "lines", rows: 3, required: true, placeholder: "SKU quantity, one per line" });
  const orderOut = h("div", { "aria-live": "polite" });
  const orderForm = h("form", { class: "order-form", id: "order-form" },
    h("div", { class: "form-grid" },
      h("div", { class: "field" }, h("label", { for: "o-ref" }, "Order ref"), orderRef),
      h("div", { class: "field" }, h("label", { for: "o-country" }, "Ship-to country"), country),
      h("div", { class: "field" }, h("label", { for: "o-postcode" }, "Postcode"), postcode),
      h("div", { class: "field" }, h("label", { for: "o-city" }, "City"), city),
      h("div", { class: "field wide" }, h("label", { for: "o-lines" }, "Lines"), lines)),
    h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, "Place order")),
    orderOut);

  const rmaOrder = h("input", { id: "r-order", name: "order_id", required: true, placeholder: "order id", class: "mono" });
  const rmaLines = h("textarea", { id: "r-lines", name: "lines", rows: 2, placeholder: "SKU quantity reason, one per line" });
  const rmaLookup = h("input", { id: "r-id", name: "rma_id", placeholder: "RMA id", class: "mono" });
  const rmaBox = h("div", { "aria-live": "polite" });
  const returnForm = h("form", { class: "return-form", id: "return-form" },
    h("div", { class: "form-grid" },
      h("div", { class: "field" }, h("label", { for: "r-order" }, "Order"), rmaOrder),
      h("div", { class: "field wide" }, h("label", { for: "r-lines" }, "Returned lines"), rmaLines)),
    h("div", { class: "actions" },
      h("button", { class: "btn primary", type: "submit" }, "Authorise return"),
      h("label", { for: "r-id", class: "muted" }, "or look up"), rmaLookup,
      h("button", { class: "btn", type: "button", id: "r-lookup" }, "Show RMA")));

  const canOrder = me.role === "seller" || me.role === "admin" || me.role === "unknown";
  let resolveWarehouses;
  const warehouseRows = new Promise((resolve) => { resolveWarehouses = resolve; });
  const replenishment = h("div", { class: "panel-slot wide-panel" });
  replenishmentPanel().then((p) => replenishment.replaceWith(p));
  const tabs = h("nav", { class: "subnav", "aria-label": "Warehouse pages" },
    h("a", { href: "#/warehouses", "aria-current": page ? null : "page" }, "All"),
    PAGES.filter(([key]) => key !== "delivery" || me.role !== "seller")
      .map(([key, label]) => h("a", { href: `#/warehouses/${key}`, "aria-current": page === key ? "page" : null }, label)));
  main.append(h("section", { class: "view", "aria-labelledby": "wh-h" },
    h("div", { class: "view-head" }, h("h1", { id: "wh-h" }, "Warehouses"), tabs),
    h("div", { class: `panels${page ? " one-page" : ""}` },
      panel("p-inventory", "Inventory",
        h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); loadInventory(); } },
          h("label", { for: "inv-warehouse" }, "Warehouse"), whFilter,
          h("label", { for: "inv-sku" }, "SKU"), skuFilter,
          h("button", { class: "btn", type: "submit" }, "Show")),
        invBox),
      panel("p-orders", "Orders", canOrder ? orderForm : null, ordersBox),
      inboundPanel({ me, warehouses: warehouseRows, onReceived: () => loadInventory() }),
      panel("p-returns", "Returns", canOrder ? returnForm : null, rmaBox, returnsBox),
      replenishment,
      me.role === "seller" ? null : deliveryPanel({ warehouses: warehouseRows }),
      panel("p-warehouses", "Warehouse network", whBox))));

  async function loadWarehouses() {
    try {
      const rows = api.items(await api.get("/v1/warehouses"));
      resolveWarehouses(rows);
      clear(whBox).append(warehousesTable(rows));
      for (const w of rows) whFilter.append(h("option", { value: w.code }, `${w.code} · ${w.name || ""}`));
    } catch (err) {
      resolveWarehouses([]);
      clear(whBox).append(failure("The warehouse list", err));
    }
  }

  async function loadInventory() {
    clear(invBox).append(h("p", { class: "muted loading" }, "Loading…"));
    try {
      const rows = api.items(await api.get("/v1/inventory", { warehouse: whFilter.value, sku: skuFilter.value.trim() }));
      clear(invBox).append(inventoryTable(rows, { sellerColumn: me.role !== "seller" }));
    } catch (err) {
      clear(invBox).append(failure("Inventory", err));
    }
  }

  const canPick = ["operator", "admin", "unknown"].includes(me.role);
  const DONE = { ship: "shipped", cancel: "cancelled", picks: "picked" };

  /** Every unit still only reserved, as pick lines (one per allocation: line, warehouse and SKU). */
  const pickAll = (order) => ({
    lines: (order.allocations || []).filter((a) => a.status === "ACTIVE")
      .map((a) => ({ sku: a.sku, qty: a.qty, warehouse: a.warehouse, line_no: a.line_no })),
  });

  async function act(order, verb, button) {
    if (verb === "cancel" && !confirmed("Cancel order {ref}? Its reserved stock is released.", { ref: order.order_ref || order.id })) return;
    button.disabled = true;
    try {
      const body = verb === "picks" ? pickAll(order) : {};
      await api.post(`/v1/orders/${encodeURIComponent(order.id)}/${verb}`, body,
        verb === "picks" ? { idempotencyKey: orderKey({ pick: order.id, ...body }) } : {});
      toast(`Order ${order.order_ref || order.id}: ${DONE[verb]}`, "ok");
      await Promise.all([loadOrders(), loadInventory()]);
    } catch (err) {
      ordersBox.prepend(problemBox(err, { context: `while trying to ${verb} order ${order.order_ref || order.id}` }));
      button.disabled = false;
    }
  }

  function orderRow(o) {
    // picked and partly shipped orders still ship (what was picked) and cancel (the rest)
    const open = ["ALLOCATED", "PICKING", "PARTLY_SHIPPED"].includes(o.status);
    const allocations = (o.allocations || []).map((a) => `${a.qty}× ${a.sku} @ ${a.warehouse}${a.lot ? ` (${a.lot})` : ""}`).join("; ");
    return h("tr", { dataset: { order: o.id } },
      h("td", { class: "mono" }, o.order_ref || "—"), h("td", { class: "mono muted" }, o.id),
      h("td", {}, statusPill(o.status)),
      h("td", {}, o.ship_to?.country || "—"),
      h("td", {}, (o.lines || []).map((l) => `${l.qty}× ${l.sku}`).join(", ")),
      h("td", { class: "detail", title: explain(o.explanation) }, allocations || "—"),
      h("td", { class: "time" }, timeEl(o.created_at)),
      h("td", { class: "actions-cell" },
        open && canPick && (o.allocations || []).some((a) => a.status === "ACTIVE")
          ? h("button", { class: "btn small", type: "button", onclick: (e) => act(o, "picks", e.currentTarget) }, "Pick") : null,
        open && canPick ? h("button", { class: "btn small", type: "button", onclick: (e) => act(o, "ship", e.currentTarget) }, "Ship") : null,
        open ? h("button", { class: "btn small danger", type: "button", onclick: (e) => act(o, "cancel", e.currentTarget) }, "Cancel") : null,
        o.status === "SHIPPED" && canOrder ? h("button", { class: "btn small", type: "button", onclick: () => startReturn(o) }, "Return…") : null));
  }

  async function loadOrders() {
    try {
      const rows = api.items(await api.get("/v1/orders", { limit: 50 }));
      clear(ordersBox).append(table([["Ref"], ["Id"], ["Status"], ["Ship to"], ["Lines"], ["Allocation"], ["Created", "time"], [""]],
        rows.length ? rows.map(orderRow) : [emptyRow(8, "No orders.")], { id: "orders", label: "Orders" }));
    } catch (err) {
      clear(ordersBox).append(failure("The order list", err));
    }
  }

  function startReturn(order) {
    rmaOrder.value = order.id;
    rmaLines.value = (order.lines || []).map((l) => `${l.sku} ${l.qty} `).join("\n");
    rmaLines.focus();
    rmaLines.scrollIntoView({ block: "center" });
  }

  function showRma(rma) {
    append(clear(rmaBox), [
      h("p", {}, "RMA ", h("strong", { class: "mono" }, rma.id), " for order ", h("span", { class: "mono" }, rma.order_id || "—"), " ",
        statusPill(rma.status), rma.refund ? ` · refunded ${rma.refund.amount} ${rma.refund.currency}` : ""),
      table([["SKU"], ["Reason"], ["Authorised", "num"], ["Received", "num"], ["Dispositioned", "num"]],
        (rma.lines || []).map((l) => h("tr", {},
          h("td", { class: "mono" }, l.sku), h("td", {}, l.reason || "—"), h("td", { class: "num" }, fmtNumber(l.authorised ?? l.qty)),
          h("td", { class: "num" }, fmtNumber(l.received ?? 0)), h("td", { class: "num" }, fmtNumber(l.dispositioned ?? 0)))),
        { id: "rma-lines", label: "Return lines" }),
      (rma.dispositions || []).length ? table([["Warehouse"], ["SKU"], ["Qty", "num"], ["Grade"], ["Disposition"]],
        rma.dispositions.map((d) => h("tr", {}, h("td", { class: "mono" }, d.warehouse), h("td", { class: "mono" }, d.sku),
          h("td", { class: "num" }, fmtNumber(d.qty)), h("td", {}, d.grade), h("td", {}, d.disposition))),
        { label: "Dispositions" }) : null]);
  }

  returnForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(rmaBox);
    const lines = [];
    const errors = [];
    rmaLines.value.split(/\n/).map((l) => l.trim()).filter(Boolean).forEach((l, i) => {
      const m = l.match(/^(\S+)\s+(\d+)\s*(.*)$/);
      if (m) lines.push({ sku: m[1], qty: Number(m[2]), reason: m[3] || "" });
      else errors.push({ field: `lines.${i}`, message: `line ${i + 1}: write "SKU quantity reason"` });
    });
    if (!rmaOrder.value.trim()) errors.push({ field: "order_id", message: "required" });
    if (!lines.length && !errors.length) errors.push({ field: "lines", message: "at least one line" });
    if (errors.length) {
      rmaBox.append(problemBox({ problem: { title: "Check the return", detail: "Some fields need attention.", errors } }));
      return;
    }
    const body = { order_id: rmaOrder.value.trim(), lines };
    try {
      const rma = await api.post("/v1/returns", body, { idempotencyKey: orderKey(body) });
      rmaLookup.value = rma.id;
      showRma(rma.lines ? rma : await api.get(`/v1/returns/${encodeURIComponent(rma.id)}`));
    } catch (err) {
      rmaBox.append(err.unavailable ? failure("Returns", err) : problemBox(err, { context: "while authorising the return" }));
    }
  });

  returnForm.querySelector("#r-lookup").addEventListener("click", async () => {
    const id = rmaLookup.value.trim();
    if (!id) { rmaLookup.focus(); return; }
    clear(rmaBox);
    try {
      showRma(await api.get(`/v1/returns/${encodeURIComponent(id)}`));
    } catch (err) {
      rmaBox.append(failure("This return", err));
    }
  });

  /** Units of a return waiting in the refurbish zone; operators restock or dispose some of them. */
  function refurbishCell(rma) {
    const waiting = rma.awaiting_refurbishment || [];
    if (!waiting.length) return h("td", { class: "muted refurbish-none" }, "—");
    return h("td", { class: "refurbish-cell" }, ...waiting.map((u) => {
      const what = `${u.sku}${u.lot ? ` lot ${u.lot}` : ""} at ${u.warehouse}`;
      const qty = h("input", {
        type: "number", min: "1", max: String(u.qty), step: "1", value: String(u.qty), class: "count-input",
        "aria-label": `Units of ${what} to refurbish (return ${rma.id})`,
      });
      const line = h("div", { class: "refurbish-line", dataset: { sku: u.sku, warehouse: u.warehouse, lot: u.lot || "" } },
        h("span", { class: "refurbish-waiting" }, `${fmtNumber(u.qty)}× ${u.sku}${u.lot ? ` (${u.lot})` : ""} @ ${u.warehouse}`));
      if (canPick) {
        const go = (outcome) => async (ev) => refurbish(rma, u, outcome, Number(qty.value), ev.currentTarget);
        line.append(qty,
          h("button", { class: "btn small", type: "button", onclick: go("restock") }, "Restock"),
          h("button", { class: "btn small danger", type: "button", onclick: go("dispose") }, "Dispose"));
      }
      return line;
    }));
  }

  async function refurbish(rma, unit, outcome, qty, button) {
    if (outcome === "dispose" && !confirmed("Dispose of {qty} × {sku}? This cannot be undone.", { qty, sku: unit.sku })) return;
    const line = { sku: unit.sku, qty, outcome, warehouse: unit.warehouse, ...(unit.lot ? { lot: unit.lot } : {}) };
    const body = { lines: [line] };
    // a retry of this very action (double click, timeout) carries the same key; once done, the next is new
    const tag = { refurbish: rma.id, ...line };
    button.disabled = true;
    try {
      await api.post(`/v1/returns/${encodeURIComponent(rma.id)}/refurbishments`, body, { idempotencyKey: orderKey(tag) });
      orderKeys.delete(JSON.stringify(tag));
      toast(`Return ${rma.id}: ${qty}× ${unit.sku} ${outcome === "restock" ? "restocked" : "disposed"}`, "ok");
      await Promise.all([loadReturns(), loadInventory()]);
    } catch (err) {
      returnsBox.prepend(problemBox(err, { context: `while trying to ${outcome} ${unit.sku} of return ${rma.id}` }));
      button.disabled = false;
    }
  }

  async function loadReturns() {
    try {
      const rows = api.items(await api.get("/v1/returns", { limit: 50 }));
      clear(returnsBox).append(table([["RMA"], ["Order"], ["Status"], ["Lines"], ["Awaiting refurbishment"], ["Created", "time"]],
        rows.length ? rows.map((r) => h("tr", { dataset: { rma: r.id } },
          h("td", { class: "mono" }, r.id), h("td", { class: "mono" }, r.order_id || "—"), h("td", {}, statusPill(r.status)),
          h("td", {}, (r.lines || []).map((l) => `${l.authorised ?? l.qty}× ${l.sku}${l.reason ? ` (${l.reason})` : ""}`).join(", ")),
          refurbishCell(r),
          h("td", { class: "time" }, timeEl(r.created_at)))) : [emptyRow(6, "No returns.")],
        { id: "returns", label: "Returns" }));
    } catch (err) {
      clear(returnsBox).append(err.unavailable
        ? h("p", { class: "muted", "data-unavailable": "returns list" }, "This server lists no returns; look one up by its RMA id.")
        : failure("The returns list", err));
    }
  }

  // The same order sent twice (a double click, a retry after a timeout) carries the same key: placed once.
  const orderKeys = new Map();
  const orderKey = (body) => {
    const k = JSON.stringify(body);
    if (!orderKeys.has(k)) orderKeys.set(k, api.newIdempotencyKey());
    return orderKeys.get(k);
  };

  orderForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear(orderOut);
    const parsed = parseLines(lines.value);
    if (!orderRef.value.trim() || !country.value.trim() || parsed.errors.length || !parsed.lines.length) {
      const errors = parsed.errors.length ? parsed.errors : [];
      if (!orderRef.value.trim()) errors.push({ field: "order_ref", message: "required" });
      if (!country.value.trim()) errors.push({ field: "ship_to.country", message: "required" });
      if (!parsed.lines.length && !parsed.errors.length) errors.push({ field: "lines", message: "at least one line" });
      orderOut.append(problemBox({ problem: { title: "Check the order", detail: "Some fields need attention.", errors } }));
      return;
    }
    const body = { order_ref: orderRef.value.trim(), ship_to: { country: country.value.trim().toUpperCase() }, lines: parsed.lines };
    if (postcode.value.trim()) body.ship_to.postcode = postcode.value.trim();
    if (city.value.trim()) body.ship_to.city = city.value.trim();
    try {
      const order = await api.post("/v1/orders", body, { idempotencyKey: orderKey(body) });
      const allocations = (order.allocations || []).map((a) => `${a.qty}× ${a.sku} from ${a.warehouse}`).join(", ");
      orderOut.append(h("p", { class: "note ok" }, `Order ${order.order_ref || body.order_ref}: ${order.status}. ${allocations}`,
        order.explanation ? h("span", { class: "muted" }, ` — ${explain(order.explanation)}`) : null));
      await Promise.all([loadOrders(), loadInventory()]);
    } catch (err) {
      orderOut.append(err.unavailable ? failure("Ordering", err) : problemBox(err, { context: "while placing the order" }));
    }
  });

  // One page of the warehouse work: the other panels stay built (their loaders share state) but hidden.
  if (page) {
    const keep = PAGES.find(([key]) => key === page)?.[2];
    for (const p of main.querySelectorAll(".panels > section, .panels > .panel-slot")) p.hidden = Boolean(keep) && p.id !== keep;
    const observer = new MutationObserver(() => {
      for (const p of main.querySelectorAll(".panels > section")) p.hidden = Boolean(keep) && p.id !== keep;
    });
    observer.observe(main.querySelector(".panels"), { childList: true });
  }
  await Promise.all([loadWarehouses(), loadInventory(), loadOrders(), loadReturns()]);
}
