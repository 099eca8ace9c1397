// Delivery runs: an operator plans a warehouse's vans for a day (by default the service clock's next working
// day) from its picked and shipped orders and the returns to collect, re-plans a day (the old run is kept,
// marked superseded), and reads stored runs back: per van the stops in order with ETAs, the load after each
// stop, distance and duration, and the orders left out with their reasons. "Waiting orders" lists what a plan
// of the day would take now, with why each rolled over from an earlier run.

import * as api from "../api.js";
import { h, append, clear, timeEl, fmtNumber, failure, problemBox, emptyRow, table, toast } from "../dom.js";
import { t, addTranslations } from "../i18n.js";

addTranslations("zh-CN", {
  "Delivery runs": "配送线路",
  "Warehouse": "仓库",
  "Day": "日期",
  "Show": "查看",
  "Plan run": "规划线路",
  "Re-plan": "重新规划",
  "Waiting orders": "待配送订单",
  "Loading…": "加载中…",
  "Run {id}": "线路 {id}",
  " (superseded by {id})": "（已被 {id} 取代）",
  "{km} km": "{km} 公里",
  "{n} stop(s)": "{n} 个站点",
  "{n} unserved": "{n} 个未配送",
  "Van {id}": "车辆 {id}",
  "departs {time}": "出发 {time}",
  "back {time}": "返回 {time}",
  "{min} min": "{min} 分钟",
  "{kg} kg out": "出库 {kg} 公斤",
  "{kg} kg of returns back": "回收退货 {kg} 公斤",
  "Van": "车辆",
  "Stop": "站点",
  "Order": "订单",
  "Kind": "类型",
  "ETA": "预计到达",
  "Departure": "离开",
  "Weight kg": "重量（公斤）",
  "Load after kg": "离站载重（公斤）",
  "Note": "备注",
  "Delivery": "配送",
  "Return pickup": "退货取件",
  " (cancelled: skip)": "（已取消：跳过）",
  "rolled over: {why}": "顺延：{why}",
  "placed by {what}": "定位来源：{what}",
  "No van left the depot.": "没有车辆出车。",
  "Not served": "未配送",
  "Reason": "原因",
  "No delivery run planned for this day.": "该日期尚未规划配送线路。",
  "No warehouses visible to this key.": "此密钥无可见仓库。",
  "Delivery run {id}": "配送线路 {id}",
  "Orders not served, with the reason": "未配送订单及原因",
  "Delivery run for {date}: {km} km": "{date} 的配送线路：{km} 公里",
  "Delivery run for {date} re-planned: {km} km": "{date} 的配送线路已重新规划：{km} 公里",
  "while re-planning the run": "重新规划线路时",
  "while planning the run": "规划线路时",
  "Waiting for {date}": "{date} 待配送",
  "Where": "位置",
  "Why it rolled over": "顺延原因",
  "Nothing waiting for this day.": "该日期没有待配送订单。",
  "cannot be placed: {why}": "无法定位：{why}",
  "current": "当前",
  "superseded": "已取代",
});

const kindLabel = (kind) => (kind === "pickup" ? t("Return pickup") : t("Delivery"));

/** The service clock's next working day (Monday to Friday) after `now`, as YYYY-MM-DD (UTC). */
export function nextWorkingDay(now) {
  const d = new Date(now);
  if (Number.isNaN(d.getTime())) return "";
  do d.setUTCDate(d.getUTCDate() + 1); while (d.getUTCDay() === 0 || d.getUTCDay() === 6);
  return d.toISOString().slice(0, 10);
}

function stopNote(s) {
  const notes = [];
  if (s.order_status === "CANCELLED") notes.push(t(" (cancelled: skip)").trim());
  if (s.carried_over) notes.push(t("rolled over: {why}", { why: s.carried_over }));
  if (s.placed_by) notes.push(t("placed by {what}", { what: s.placed_by }));
  return notes.join(" · ");
}

function vanView(run, v) {
  const stops = v.stops || [];
  return h("div", { class: "delivery-van", dataset: { van: v.van_id } },
    h("h3", {}, t("Van {id}", { id: v.van_id }), " · ", t("departs {time}", { time: "" }), timeEl(v.departs),
      " · ", t("back {time}", { time: "" }), timeEl(v.returns),
      " · ", h("span", { class: "van-distance" }, t("{km} km", { km: fmtNumber(v.distance_km, 1) })),
      v.duration_min != null ? [" · ", h("span", { class: "van-duration" }, t("{min} min", { min: fmtNumber(v.duration_min, 0) }))] : null,
      " · ", t("{kg} kg out", { kg: fmtNumber(v.load_kg, 1) }),
      v.pickup_kg ? [" · ", t("{kg} kg of returns back", { kg: fmtNumber(v.pickup_kg, 1) })] : null),
    table([[t("Van")], [t("Stop"), "num"], [t("Order")], [t("Kind")], [t("ETA"), "time"], [t("Departure"), "time"],
      [t("Weight kg"), "num"], [t("Load after kg"), "num"], [t("Note")]],
    stops.map((s) => h("tr", { dataset: { order: s.order_id, van: v.van_id, kind: s.kind || "delivery" } },
      h("td", { class: "mono" }, v.van_id), h("td", { class: "num" }, String(s.seq)),
      h("td", { class: `mono ${s.order_status === "CANCELLED" ? "behind" : ""}` }, s.order_ref || s.order_id),
      h("td", {}, kindLabel(s.kind)),
      h("td", { class: "time" }, timeEl(s.arrival)), h("td", { class: "time" }, timeEl(s.departure)),
      h("td", { class: "num" }, fmtNumber(s.weight_kg, 1)),
      h("td", { class: "num load-after" }, s.load_kg == null ? "—" : fmtNumber(s.load_kg, 1)),
      h("td", { class: "muted" }, stopNote(s)))),
    { id: `run-${run.id}-${v.van_id}`, label: t("Delivery run {id}", { id: run.id }) }));
}

function unservedView(run) {
  const rows = run.unserved || [];
  if (!rows.length) return null;
  return h("div", { class: "delivery-unserved" },
    h("h3", { class: "warn" }, t("Not served")),
    h("ul", { class: "unserved-list", "aria-label": t("Orders not served, with the reason") },
      rows.map((u) => h("li", { dataset: { order: u.order_id, kind: u.kind || "delivery" } },
        h("span", { class: "mono" }, u.order_ref || u.order_id), ` · ${kindLabel(u.kind)} · `,
        h("span", { class: "unserved-reason" }, u.reason || "—")))));
}

function runView(run) {
  const stops = (run.vans || []).reduce((n, v) => n + (v.stops || []).length, 0);
  const superseded = run.status === "superseded";
  const unserved = (run.unserved || []).length;
  return h("div", { class: `delivery-run${superseded ? " superseded" : ""}`, dataset: { run: run.id, status: run.status || "current" } },
    h("p", {}, t("Run {id}", { id: "" }), h("strong", { class: "mono" }, run.id),
      superseded ? h("span", { class: "muted run-superseded" }, t(" (superseded by {id})", { id: run.superseded_by })) : null,
      ` · ${run.warehouse} · ${run.date} · `,
      h("span", { class: "run-distance" }, t("{km} km", { km: fmtNumber(run.distance_km, 1) })), " · ",
      t("{n} stop(s)", { n: stops }),
      unserved ? h("span", { class: "warn" }, " · ", t("{n} unserved", { n: unserved })) : null),
    (run.vans || []).length ? (run.vans || []).map((v) => vanView(run, v))
      : table([[t("Van")]], [emptyRow(1, t("No van left the depot."))]),
    unservedView(run));
}

function candidatesView(day, rows) {
  return h("div", { class: "delivery-candidates" },
    h("h3", {}, t("Waiting for {date}", { date: day })),
    table([[t("Order")], [t("Kind")], [t("Weight kg"), "num"], [t("Where")], [t("Why it rolled over")]],
      rows.length ? rows.map((c) => h("tr", { dataset: { order: c.order_id } },
        h("td", { class: "mono" }, c.order_ref || c.order_id), h("td", {}, kindLabel(c.kind)),
        h("td", { class: "num" }, fmtNumber(c.weight_kg, 1)),
        h("td", { class: c.unplaceable ? "warn" : "" }, c.unplaceable ? t("cannot be placed: {why}", { why: c.unplaceable })
          : `${fmtNumber(c.lat, 4)}, ${fmtNumber(c.lon, 4)}${c.placed_by ? ` (${c.placed_by})` : ""}`),
        h("td", {}, c.carried_over || "—")))
        : [emptyRow(5, t("Nothing waiting for this day."))],
      { id: "dr-candidates", label: t("Waiting for {date}", { date: day }) }));
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
  const base = () => `/v1/warehouses/${encodeURIComponent(whSelect.value)}`;

  async function show() {
    if (!whSelect.value) return;
    clear(box).append(h("p", { class: "muted loading" }, t("Loading…")));
    try {
      const runs = api.items(await api.get(`${base()}/delivery-runs`, day.value ? { date: day.value } : {}));
      append(clear(box), runs.length ? runs.map(runView)
        : [h("p", { class: "muted", id: "dr-none" }, t("No delivery run planned for this day."))]);
    } catch (err) {
      clear(box).append(failure(t("Delivery runs"), err));
    }
  }

  async function waiting() {
    if (!whSelect.value || !day.value) return;
    clear(box).append(h("p", { class: "muted loading" }, t("Loading…")));
    try {
      const rows = api.items(await api.get(`${base()}/delivery-candidates`, { date: day.value }));
      append(clear(box), [candidatesView(day.value, rows)]);
    } catch (err) {
      clear(box).append(failure(t("Waiting orders"), err));
    }
  }

  // Plan: the same day sent twice is one run (same key). Re-plan: a retry of one re-plan keeps its key, the
  // next re-plan (after orders changed) is a new one, superseding the run before.
  async function plan(button, replan) {
    const body = replan ? { date: day.value, replan: true } : { date: day.value };
    const tag = JSON.stringify({ warehouse: whSelect.value, ...body });
    button.disabled = true;
    try {
      const run = await api.post(`${base()}/delivery-runs`, body,
        { idempotencyKey: keyFor({ warehouse: whSelect.value, ...body }) });
      if (replan) keys.delete(tag);
      const km = fmtNumber(run.distance_km, 1);
      toast(replan ? t("Delivery run for {date} re-planned: {km} km", { date: run.date, km })
        : t("Delivery run for {date}: {km} km", { date: run.date, km }), "ok");
      append(clear(box), [runView(run)]);
    } catch (err) {
      clear(box).append(err.unavailable ? failure(t("Delivery runs"), err)
        : problemBox(err, { context: replan ? t("while re-planning the run") : t("while planning the run") }));
    } finally {
      button.disabled = false;
    }
  }

  const form = h("form", { class: "filters", id: "delivery-form", onsubmit: async (ev) => {
    ev.preventDefault();
    await plan(form.querySelector("button[type=submit]"), false);
  } },
  h("label", { for: "dr-warehouse" }, t("Warehouse")), whSelect,
  h("label", { for: "dr-date" }, t("Day")), day,
  h("button", { class: "btn", type: "button", id: "dr-show", onclick: () => show() }, t("Show")),
  h("button", { class: "btn", type: "button", id: "dr-waiting", onclick: () => waiting() }, t("Waiting orders")),
  h("button", { class: "btn primary", type: "submit" }, t("Plan run")),
  h("button", { class: "btn", type: "button", id: "dr-replan", onclick: (ev) => plan(ev.currentTarget, true) }, t("Re-plan")));

  (async () => {
    try {
      // the service clock, not the browser's: the demo clock may run ahead of the wall clock
      const health = await (await fetch("/healthz", { cache: "no-store" })).json();
      if (health.now) day.value = nextWorkingDay(health.now);
    } catch { /* the user picks the day */ }
    const rows = await warehouses;
    for (const w of rows) whSelect.append(h("option", { value: w.code }, `${w.code} · ${w.name || ""}`));
    if (!rows.length) box.append(h("p", { class: "muted" }, t("No warehouses visible to this key.")));
    await show();
  })();

  return h("section", { class: "card panel wide-panel", id: "p-delivery", "aria-labelledby": "p-delivery-h" },
    h("h2", { id: "p-delivery-h" }, t("Delivery runs")), form, box);
}
