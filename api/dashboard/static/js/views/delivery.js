// Delivery runs: an operator plans a warehouse's vans for a day from its picked and shipped orders with a
// position, re-plans a day (the old run is kept, marked superseded), and reads stored runs back (vans, stops in
// visiting order, times, distance).

import * as api from "../api.js";
import { h, append, clear, timeEl, fmtNumber, failure, problemBox, emptyRow, table, toast } from "../dom.js";

function runView(run) {
  const stops = (run.vans || []).reduce((n, v) => n + (v.stops || []).length, 0);
  const superseded = run.status === "superseded";
  return h("div", { class: `delivery-run${superseded ? " superseded" : ""}`, dataset: { run: run.id, status: run.status || "current" } },
    h("p", {}, "Run ", h("strong", { class: "mono" }, run.id),
      superseded ? h("span", { class: "muted run-superseded" }, ` (superseded by ${run.superseded_by})`) : null,
      ` · ${run.warehouse} · ${run.date} · `,
      h("span", { class: "run-distance" }, `${fmtNumber(run.distance_km, 1)} km`), ` · ${stops} stop(s)`,
      (run.unserved || []).length ? h("span", { class: "warn" }, ` · not served: ${run.unserved.join(", ")}`) : null),
    table([["Van"], ["Stop", "num"], ["Order"], ["Arrival", "time"], ["Departure", "time"], ["Weight kg", "num"]],
      stops ? (run.vans || []).flatMap((v) => (v.stops || []).map((s) => h("tr", { dataset: { order: s.order_id, van: v.van_id } },
        h("td", { class: "mono" }, v.van_id), h("td", { class: "num" }, String(s.seq)),
        h("td", { class: `mono ${s.order_status === "CANCELLED" ? "behind" : ""}` }, s.order_ref || s.order_id,
          s.order_status === "CANCELLED" ? " (cancelled: skip)" : ""), h("td", { class: "time" }, timeEl(s.arrival)),
        h("td", { class: "time" }, timeEl(s.departure)), h("td", { class: "num" }, fmtNumber(s.weight_kg, 1)))))
        : [emptyRow(6, "No stop could be served.")],
      { id: `run-${run.id}`, label: `Delivery run ${run.id}` }));
}

/** The delivery-run panel (operators and admins). `warehouses` resolves to the rows the key may see. */
export function deliveryPanel({ warehouses }) {
  const whSelect = h("select", { id: "dr-warehouse", name: "warehouse", required: true });
  const day = h("input", { id: "dr-date", name: "date", type: "date", required: true });
  const box = h("div", { "aria-live": "polite" });
  const keys = new Map();
  const keyFor = (body) => {
    const k = JSON.stringify(body);
    if (!keys.has(k)) keys.set(k, api.newIdempotencyKey());
    return keys.get(k);
  };

  async function show() {
    if (!whSelect.value) return;
    clear(box).append(h("p", { class: "muted loading" }, "Loading…"));
    try {
      const runs = api.items(await api.get(`/v1/warehouses/${encodeURIComponent(whSelect.value)}/delivery-runs`,
        day.value ? { date: day.value } : {}));
      append(clear(box), runs.length ? runs.map(runView)
        : [h("p", { class: "muted", id: "dr-none" }, "No delivery run planned for this day.")]);
    } catch (err) {
      clear(box).append(failure("Delivery runs", err));
    }
  }

  // Plan: the same day sent twice is one run (same key). Re-plan: a retry of one re-plan keeps its key, the
  // next re-plan (after orders changed) is a new one, superseding the run before.
  async function plan(button, replan) {
    const body = replan ? { date: day.value, replan: true } : { date: day.value };
    const tag = JSON.stringify({ warehouse: whSelect.value, ...body });
    button.disabled = true;
    try {
      const run = await api.post(`/v1/warehouses/${encodeURIComponent(whSelect.value)}/delivery-runs`, body,
        { idempotencyKey: keyFor({ warehouse: whSelect.value, ...body }) });
      if (replan) keys.delete(tag);
      toast(`Delivery run for ${run.date}${replan ? " re-planned" : ""}: ${fmtNumber(run.distance_km, 1)} km`, "ok");
      append(clear(box), [runView(run)]);
    } catch (err) {
      clear(box).append(err.unavailable ? failure("Delivery runs", err)
        : problemBox(err, { context: replan ? "while re-planning the run" : "while planning the run" }));
    } finally {
      button.disabled = false;
    }
  }

  const form = h("form", { class: "filters", id: "delivery-form", onsubmit: async (ev) => {
    ev.preventDefault();
    await plan(form.querySelector("button[type=submit]"), false);
  } },
  h("label", { for: "dr-warehouse" }, "Warehouse"), whSelect,
  h("label", { for: "dr-date" }, "Day"), day,
  h("button", { class: "btn", type: "button", id: "dr-show", onclick: () => show() }, "Show"),
  h("button", { class: "btn primary", type: "submit" }, "Plan run"),
  h("button", { class: "btn", type: "button", id: "dr-replan", onclick: (ev) => plan(ev.currentTarget, true) }, "Re-plan"));

  (async () => {
    try {
      const health = await (await fetch("/healthz", { cache: "no-store" })).json();
      if (health.now) day.value = String(health.now).slice(0, 10);
    } catch { /* the user picks the day */ }
    const rows = await warehouses;
    for (const w of rows) whSelect.append(h("option", { value: w.code }, `${w.code} · ${w.name || ""}`));
    if (!rows.length) box.append(h("p", { class: "muted" }, "No warehouses visible to this key."));
    await show();
  })();

  return h("section", { class: "card panel wide-panel", id: "p-delivery", "aria-labelledby": "p-delivery-h" },
    h("h2", { id: "p-delivery-h" }, "Delivery runs"), form, box);
}
