// Shipments: the waybill list, filtered by status, paginated, updated live from the stream.

import * as api from "../api.js";
import { t } from "../i18n.js";
import {
  h, clear, raw, statusPill, timeEl, fmtPosition, fmtDelta, hoursBetween, failure, emptyRow, table, WAYBILL_STATUSES,
} from "../dom.js";

const HEAD = [
  ["Waybill"], ["Status"], ["Origin"], ["Destination"], ["Last milestone"], ["Position"],
  ["ETA", "time"], ["Planned arrival", "time"], ["Δ plan", "num"], ["Deliver by", "time"], ["Alarms", "num"],
  ["Customs", "code"], ["Updated", "time"],
];

function milestoneText(m) {
  if (!m) return "—";
  if (typeof m === "string") return m;
  return [m.code, m.classifier, m.location].filter(Boolean).join(" ");
}

/** "Duisburg · DUI": the node's short name and its code (ids and UN/LOCODEs both look up). */
export function place(code, names) {
  if (!code) return "—";
  const name = names.get(code);
  const short = name ? name.split(/ \(| \+ | - /)[0] : null;
  return h("span", { translate: "no" }, short && short !== code ? [short, " ", h("small", { class: "muted" }, `· ${code}`)] : code);
}

export function row(w, navigate, names = new Map()) {
  const delta = hoursBetween(w.planned_arrival, w.eta);
  const late = w.deliver_by && w.eta && hoursBetween(w.deliver_by, w.eta) > 0;
  const alarms = Array.isArray(w.alarms) ? w.alarms : [];
  const link = h("a", { href: `#/waybills/${encodeURIComponent(w.waybill_no)}`, translate: "no" }, w.waybill_no);
  const tr = h("tr", {
    dataset: { waybill: w.waybill_no, status: w.status },
    class: [late ? "late" : "", alarms.length ? "alarmed" : ""].join(" ").trim() || null,
    onclick: (ev) => { if (ev.target.tagName !== "A") navigate(link.getAttribute("href")); },
  },
  h("td", { class: "mono" }, link),
  h("td", {}, statusPill(w.status)),
  h("td", { title: names.get(w.origin) }, place(w.origin, names)),
  h("td", { title: names.get(w.destination) }, place(w.destination, names)),
  h("td", { class: "mono", translate: "no" }, milestoneText(w.last_milestone)),
  h("td", { class: "mono", title: w.position?.at ? `fix at ${w.position.at}` : null }, fmtPosition(w.position)),
  h("td", { class: "time" }, timeEl(w.eta)),
  h("td", { class: "time" }, timeEl(w.planned_arrival)),
  h("td", { class: `num ${delta > 1 ? "behind" : delta < -1 ? "ahead" : ""}` }, fmtDelta(delta)),
  h("td", { class: `time ${late ? "behind" : ""}`, title: late ? "the ETA is after the deliver-by date" : null }, timeEl(w.deliver_by)),
  h("td", { class: "num", title: alarms.map((a) => a.kind).join(", ") || null },
    alarms.length ? h("span", { class: "alarm-count" }, String(alarms.length)) : "0"),
  h("td", { class: "code", translate: "no" }, w.customs_mode ?? "—"),
  h("td", { class: "time" }, timeEl(w.updated_at)));
  tr.dataset.json = JSON.stringify(w); // what the row shows, so a live update can be merged into it
  return tr;
}

export async function shipmentsView({ main, bus, navigate }) {
  const names = await api.nodeNames();
  // a link from the overview (#/shipments?status=IN_TRANSIT) wins over the remembered filter
  const linked = new URLSearchParams(location.hash.split("?")[1] || "");
  const params = new URLSearchParams(linked.toString() || sessionStorage.getItem("xborder.shipments.filter") || "");
  const customsMode = linked.get("customs_mode") || "";
  const status = h("select", { id: "status-filter", name: "status", "data-filter": true },
    h("option", { value: "" }, "All statuses"),
    WAYBILL_STATUSES.map((s) => h("option", { value: s, selected: params.get("status") === s }, s.replaceAll("_", " "))));
  const limit = h("select", { id: "limit", name: "limit" },
    [25, 50, 100, 200].map((n) => h("option", { value: n, selected: String(n) === (params.get("limit") || "50") }, String(n))));
  const count = h("span", { class: "count", "aria-live": "polite" });
  const body = h("div", { class: "results" });
  const more = h("button", { class: "btn", type: "button", hidden: true }, "Load more");
  const liveNote = h("span", { class: "muted live-note", "aria-live": "polite" });

  main.append(
    h("section", { class: "view", "aria-labelledby": "shipments-h" },
      h("div", { class: "view-head" },
        h("h1", { id: "shipments-h" }, "Shipments"),
        h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); load(); } },
          h("label", { for: "status-filter" }, "Status"), status,
          h("label", { for: "limit" }, "Rows"), limit,
          h("button", { class: "btn", type: "submit" }, "Refresh")),
        count, liveNote),
      body, h("div", { class: "more" }, more)));

  let tbody = null;
  let next = null;
  let shown = 0;
  let missed = 0;

  async function load(cursor) {
    sessionStorage.setItem("xborder.shipments.filter", new URLSearchParams({ status: status.value, limit: limit.value }).toString());
    if (!cursor) {
      clear(body).append(h("p", { class: "muted loading" }, "Loading…"));
      shown = 0;
      missed = 0;
      liveNote.textContent = "";
    }
    more.disabled = true;
    try {
      const page = await api.get("/v1/waybills", { status: status.value, customs_mode: customsMode, limit: limit.value, cursor });
      const rows = api.items(page);
      next = page?.next || null;
      if (!cursor) {
        const grid = table(HEAD, rows.length ? rows.map((w) => row(w, navigate, names)) : [emptyRow(HEAD.length, status.value ? t("No waybills with status {status}.", { status: t(status.value.replaceAll("_", " ")) }) : t("No waybills yet."))],
          { id: "waybills", label: "Waybills" });
        tbody = grid.querySelector("tbody");
        clear(body).append(grid);
      } else {
        tbody.append(...rows.map((w) => row(w, navigate, names)));
      }
      shown += rows.length;
      count.textContent = t(next ? "{n} shown, more available" : "{n} shown", { n: shown });
      more.hidden = !next;
    } catch (err) {
      if (!cursor) clear(body);
      body.append(failure("The shipment list", err));
    } finally {
      more.disabled = false;
    }
  }

  status.addEventListener("change", () => load());
  limit.addEventListener("change", () => load());
  more.addEventListener("click", () => load(next));

  const onStatus = (ev) => {
    const update = ev.detail || {};
    const tr = tbody?.querySelector(`tr[data-waybill="${CSS.escape(update.waybill_no || "")}"]`);
    if (!tr) {
      if (!status.value || status.value === update.status) {
        missed += 1;
        liveNote.textContent = t("{n} updates for waybills not shown — Refresh", { n: missed });
      }
      return;
    }
    const old = tr.dataset.status;
    // Merge the update into the row's data and redraw it; highlight a status change.
    const current = JSON.parse(tr.dataset.json || "{}");
    const fresh = row({ ...current, ...update }, navigate, names);
    if (old !== update.status) fresh.classList.add("flash");
    tr.replaceWith(fresh);
  };
  bus.addEventListener("waybill.status", onStatus);

  await load();
  return { dispose: () => bus.removeEventListener("waybill.status", onStatus) };
}
