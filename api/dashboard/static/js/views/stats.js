// Statistics: shipments grouped by customs mode, corridor, origin, destination country or month, from
// `GET /v1/stats/shipments` ({"rows": [...], "totals": {...}}), with the same rows as a CSV download.

import * as api from "../api.js";
import { h, clear, failure, raw, table, emptyRow } from "../dom.js";
import { t, fmtNum } from "../i18n.js";
import { barChart } from "../charts.js";

const GROUPS = [["customs_mode", "Customs mode"], ["corridor", "Corridor"], ["origin", "Origin"], ["destination_country", "Destination country"], ["month", "Month"]];
const MEASURES = [
  ["shipments", "Shipments", 0], ["parcels", "Parcels", 0], ["teu", "TEU", 1], ["gross_kg", "Gross, kg", 0],
  ["declared_value_cny", "Declared value, CNY", 0], ["on_time_rate", "On time", 2], ["transit_days_p50", "Transit days p50", 1],
  ["transit_days_p90", "Transit days p90", 1], ["co2e_kg", "CO₂e, kg", 0],
];

export async function statsView({ main }) {
  const group = h("select", { id: "s-group", name: "group_by", "data-filter": true }, GROUPS.map(([v, l]) => h("option", { value: v }, l)));
  const from = h("input", { id: "s-from", name: "from", type: "date" });
  const to = h("input", { id: "s-to", name: "to", type: "date" });
  const csv = h("button", { class: "btn", type: "button", "data-testid": "stats-csv", id: "stats-csv" }, "Download CSV");
  const out = h("div", { "aria-live": "polite" });
  main.append(h("section", { class: "view", "data-testid": "stats", "aria-labelledby": "st-h" },
    h("div", { class: "view-head" }, h("h1", { id: "st-h" }, "Statistics"),
      h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); load(); } },
        h("label", { for: "s-group" }, "Group by"), group,
        h("label", { for: "s-from" }, "From"), from,
        h("label", { for: "s-to" }, "To"), to,
        h("button", { class: "btn", type: "submit" }, "Show"), csv)),
    out));

  const query = () => ({
    group_by: group.value,
    from: from.value ? `${from.value}T00:00:00Z` : undefined,
    to: to.value ? `${to.value}T00:00:00Z` : undefined,
  });

  async function load() {
    clear(out).append(h("p", { class: "muted" }, "Loading…"));
    try {
      const body = await api.get("/v1/stats/shipments", query());
      const rows = body?.rows || [];
      const key = group.value;
      const head = [[GROUPS.find((g) => g[0] === key)[1]], ...MEASURES.map(([, l]) => [l, "num"])];
      const line = (r, cls) => h("tr", { class: cls }, h("td", {}, cls ? t("Total") : raw(r[key])),
        MEASURES.map(([m, , d]) => h("td", { class: "num" }, r[m] === undefined || r[m] === null ? "—" : fmtNum(r[m], d))));
      clear(out).append(
        rows.length ? h("div", { class: "card" }, barChart(rows.map((r) => ({ label: String(r[key] ?? "—"), raw: true, value: r.shipments })), { label: "Shipments", width: 640 })) : null,
        table(head, rows.length ? [...rows.map((r) => line(r)), body.totals ? line(body.totals, "totals") : null] : [emptyRow(head.length, "No shipments in this period.")],
          { id: "stats-table", label: "Statistics" }));
    } catch (err) {
      clear(out).append(failure("Statistics", err));
    }
  }

  csv.addEventListener("click", async () => {
    csv.disabled = true;
    try {
      const url = new URL("/v1/stats/shipments", location.origin);
      for (const [k, v] of Object.entries({ ...query(), format: "csv" })) if (v) url.searchParams.set(k, v);
      const response = await fetch(url, { headers: { Authorization: `Bearer ${api.getKey()}`, Accept: "text/csv" } });
      if (!response.ok) throw new api.Problem({ status: response.status, title: response.statusText, detail: await response.text() });
      const blob = await response.blob();
      const a = h("a", { href: URL.createObjectURL(blob), download: `xborder-shipments-by-${group.value}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (err) {
      out.prepend(failure("Statistics", err));
    } finally {
      csv.disabled = false;
    }
  });

  group.addEventListener("change", load);
  if (!(await api.hasPath("/v1/stats/shipments"))) {
    // built ahead of its endpoint: say so instead of asking for a page the server does not have
    csv.disabled = true;
    clear(out).append(h("p", { class: "note unavailable", "data-unavailable": "stats" }, "The statistics service is not available on this server yet."));
    return;
  }
  await load();
}
