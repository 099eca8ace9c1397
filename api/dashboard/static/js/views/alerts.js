// Exceptions inbox: open alarms (delay, no tracking data, condition, offline, customs rejection), shipments
// past their planned arrival with no reading, late ones, and the network's disruptions with what they
// re-planned. The platform's network operator (and admin) declares and lifts disruptions here.

import * as api from "../api.js";
import { h, clear, failure, problemBox, timeEl, raw, statusPill, table, emptyRow, toast } from "../dom.js";
import { t } from "../i18n.js";
import { lateness, untracked } from "./overview.js";

const KIND_TEXT = {
  delay: "Delay", no_tracking_data: "No tracking data", temperature: "Temperature", shock: "Shock",
  offline: "Tracker offline", battery: "Low battery", door_open: "Door open", door: "Door open", humidity: "Humidity",
  replan: "Re-planned",
  customs_rejected: "Customs rejection", geofence: "Off route",
};

function kindText(kind) {
  return KIND_TEXT[kind] ? t(KIND_TEXT[kind]) : raw(kind);
}

function alarmDetail(a) {
  const skip = new Set(["kind", "raised_at", "cleared_at", "waybill_no", "device_id", "acknowledged", "acknowledged_by",
    "acknowledged_at", "assignee", "note"]);
  const parts = Object.entries(a).filter(([k, v]) => !skip.has(k) && v !== null && typeof v !== "object").map(([k, v]) => `${k}: ${v}`);
  return parts.length ? raw(parts.join(", ")) : "—";
}

export async function alertsView({ main, me, bus, serviceNow }) {
  const inbox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const disruptionsBox = h("div", {});
  const canDeclare = ["admin", "network_operator"].includes(me.role);
  const canAcknowledge = ["admin", "forwarder"].includes(me.role);
  const declareOut = h("div", { "aria-live": "polite" });

  main.append(h("section", { class: "view", "data-testid": "alerts", "aria-labelledby": "al-h" },
    h("div", { class: "view-head" }, h("h1", { id: "al-h" }, "Exceptions")),
    h("section", { class: "card", "aria-labelledby": "inbox-h" }, h("h2", { id: "inbox-h" }, "Needs attention"), inbox),
    h("section", { class: "card", id: "disruptions", "aria-labelledby": "dis-h" }, h("h2", { id: "dis-h" }, "Network disruptions"),
      canDeclare ? declareForm() : h("p", { class: "help" }, "Disruptions are declared by the platform's network operator."),
      declareOut, disruptionsBox)));

  function declareForm() {
    const kind = h("select", { id: "d-kind", name: "kind" },
      [["suspend", "Suspend a service"], ["close", "Close a corridor or node"], ["delay", "Delay a service"]].map(([v, l]) => h("option", { value: v }, l)));
    const target = h("input", { id: "d-target", name: "target", required: true, placeholder: "service id, corridor or node", autocomplete: "off" });
    const targetKind = h("select", { id: "d-target-kind", name: "target_kind" },
      [["service_id", "Service"], ["corridor", "Corridor"], ["node", "Node"]].map(([v, l]) => h("option", { value: v }, l)));
    const hours = h("input", { id: "d-hours", name: "hours", type: "number", min: "1", step: "1", placeholder: "hours (delay)" });
    const reason = h("input", { id: "d-reason", name: "reason", required: true, placeholder: "e.g. Malaszewicze congestion" });
    const form = h("form", { class: "form-grid declare-form", id: "declare-form" },
      h("div", { class: "field" }, h("label", { for: "d-kind" }, "Disruption"), kind),
      h("div", { class: "field" }, h("label", { for: "d-target-kind" }, "Applies to"), targetKind),
      h("div", { class: "field" }, h("label", { for: "d-target" }, "Which"), target),
      h("div", { class: "field" }, h("label", { for: "d-hours" }, "Delay, hours"), hours),
      h("div", { class: "field wide" }, h("label", { for: "d-reason" }, "Reason"), reason),
      h("div", { class: "actions" }, h("button", { class: "btn primary", type: "submit" }, "Declare disruption")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { kind: kind.value, reason: reason.value.trim(), [targetKind.value]: target.value.trim() };
      if (hours.value) body.hours = Number(hours.value);
      if (!window.confirm(t("Declare this disruption? Every booking it hits is re-planned."))) return;
      clear(declareOut);
      try {
        const made = await api.post("/v1/disruptions", body, { idempotencyKey: api.newIdempotencyKey() });
        toast(t("Disruption declared: {n} bookings re-planned", { n: made.summary?.replanned ?? 0 }), "ok");
        declareOut.append(replannedTable(made.bookings || []));
        await loadDisruptions();
      } catch (err) {
        declareOut.append(problemBox(err, { context: t("while declaring the disruption") }));
      }
    });
    return form;
  }

  function replannedTable(bookings) {
    return table([["Booking"], ["Waybill"], ["Re-planned"], ["Note"]],
      bookings.length ? bookings.map((b) => h("tr", {},
        h("td", {}, raw(b.booking_id || b.id)),
        h("td", {}, b.waybill_no ? h("a", { href: `#/waybills/${encodeURIComponent(b.waybill_no)}`, translate: "no" }, b.waybill_no) : "—"),
        h("td", {}, b.replanned ? t("yes") : t("no")),
        h("td", {}, raw(b.reason || b.note || "")))) : [emptyRow(4, "No booking was affected.")],
      { id: "replanned", label: "Re-planned bookings" });
  }

  async function loadDisruptions() {
    try {
      const rows = api.items(await api.get("/v1/disruptions"));
      clear(disruptionsBox).append(table([["Disruption"], ["Applies to"], ["Reason"], ["Declared", "time"], ["Bookings", "num"], [""]],
        rows.length ? rows.map((d) => h("tr", { dataset: { disruption: d.id } },
          h("td", {}, t(d.kind)),
          h("td", {}, raw(d.service_id || d.corridor || d.node || d.departure_id)),
          h("td", {}, raw(d.reason)),
          h("td", { class: "time" }, timeEl(d.created_at)),
          h("td", { class: "num" }, t("{a} hit, {r} re-planned", { a: d.summary?.affected ?? 0, r: d.summary?.replanned ?? 0 })),
          h("td", {}, canDeclare ? h("button", { class: "btn small", type: "button", onclick: (e) => lift(d, e.currentTarget) }, "Lift") : null)))
          : [emptyRow(6, "No disruption in force.")],
        { id: "disruption-list", label: "Network disruptions" }));
    } catch (err) {
      clear(disruptionsBox).append(failure("Disruptions", err));
    }
  }

  async function lift(d, button) {
    if (!window.confirm(t("Lift this disruption? New quotes use the service again."))) return;
    button.disabled = true;
    try {
      await api.post(`/v1/disruptions/${encodeURIComponent(d.id)}/lift`, {});
      toast(t("Disruption lifted"), "ok");
      await loadDisruptions();
    } catch (err) {
      disruptionsBox.prepend(problemBox(err));
      button.disabled = false;
    }
  }

  /** Who has the alarm, and (forwarder, admin) a form to acknowledge it and assign it with a note. */
  function handling(i) {
    const a = i.alarm;
    if (!a) return "—";
    const state = a.acknowledged
      ? h("span", { class: "ack-state" }, h("span", { class: "pill tone-ok" }, "Acknowledged"),
        a.assignee ? [" ", h("span", {}, "assigned to"), " ", raw(a.assignee, "strong", { class: "assignee" })] : null,
        a.note ? h("span", { class: "muted ack-note" }, " · ", raw(a.note)) : null)
      : h("span", { class: "pill tone-warn ack-state" }, "Not acknowledged");
    if (!canAcknowledge) return state;
    const box = h("div", { class: "ack-box" });
    const open = h("button", { class: "btn small", type: "button", "data-action": "acknowledge" }, a.acknowledged ? "Reassign" : "Acknowledge");
    open.addEventListener("click", () => {
      open.hidden = true;
      box.append(ackForm(i, () => { clear(box); open.hidden = false; }));
      box.querySelector("input")?.focus();
    });
    return h("div", {}, state, " ", open, box);
  }

  function ackForm(i, close) {
    const a = i.alarm;
    const n = `${i.w.waybill_no}-${a.kind}`.replace(/[^A-Za-z0-9-]/g, "");
    const assignee = h("input", { id: `ack-assignee-${n}`, name: "assignee", maxlength: "100", autocomplete: "off", placeholder: "name or API key id", value: a.assignee || "" });
    const note = h("input", { id: `ack-note-${n}`, name: "note", maxlength: "500", autocomplete: "off", value: a.note || "" });
    const out = h("div", { "aria-live": "polite" });
    const form = h("form", { class: "ack-form" },
      h("label", { for: assignee.id }, "Assignee"), assignee,
      h("label", { for: note.id }, "Note"), note,
      h("div", { class: "actions" },
        h("button", { class: "btn small primary", type: "submit" }, "Save"),
        h("button", { class: "btn small", type: "button", onclick: close }, "Cancel")),
      out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { raised_at: a.raised_at };
      if (assignee.value.trim()) body.assignee = assignee.value.trim();
      if (note.value.trim()) body.note = note.value.trim();
      clear(out);
      try {
        await api.post(`/v1/waybills/${encodeURIComponent(i.w.waybill_no)}/alarms/${encodeURIComponent(a.kind)}/acknowledge`, body);
        toast(t("Alarm acknowledged"), "ok");
        await loadInbox();
      } catch (err) {
        out.append(problemBox(err, { context: t("while acknowledging the alarm") }));
      }
    });
    return form;
  }

  async function loadInbox() {
    const now = (serviceNow?.() || new Date()).getTime();
    try {
      const waybills = await api.list("/v1/waybills", { limit: 500 }, { max: 2000 });
      const items = [];
      for (const w of waybills) {
        for (const a of w.alarms || []) if (!a.cleared_at) items.push({ w, kind: a.kind, at: a.raised_at, detail: alarmDetail(a), severity: 2, alarm: a });
        const known = new Set((w.alarms || []).map((a) => a.kind));
        if (untracked(w, now) && !known.has("no_tracking_data")) {
          items.push({ w, kind: "no_tracking_data", at: w.planned_arrival, detail: t("past planned arrival, no reading received"), severity: 2 });
        } else if (lateness(w, now) && !known.has("delay")) {
          items.push({ w, kind: "delay", at: w.eta || w.planned_arrival, detail: t(lateness(w, now) === "late" ? "late" : "at risk"), severity: lateness(w, now) === "late" ? 2 : 1 });
        }
      }
      // Acknowledged alarms after the ones nobody has taken yet.
      const acked = (i) => (i.alarm?.acknowledged ? 1 : 0);
      items.sort((a, b) => acked(a) - acked(b) || b.severity - a.severity || String(a.at).localeCompare(String(b.at)));
      clear(inbox).append(table([["Kind"], ["Waybill"], ["Status"], ["Since", "time"], ["Detail"], ["Handling"]],
        items.length ? items.map((i) => h("tr", { class: `sev-${i.severity}${i.alarm?.acknowledged ? " acked" : ""}`, dataset: { kind: i.kind, waybill: i.w.waybill_no } },
          h("td", {}, h("span", { class: `pill tone-${i.severity > 1 ? "bad" : "warn"}` }, kindText(i.kind))),
          h("td", {}, h("a", { href: `#/waybills/${encodeURIComponent(i.w.waybill_no)}`, translate: "no" }, i.w.waybill_no)),
          h("td", {}, statusPill(i.w.status)),
          h("td", { class: "time" }, timeEl(i.at)),
          h("td", { class: "why" }, i.detail),
          h("td", { class: "handling" }, handling(i)))) : [emptyRow(6, "Nothing needs attention.")],
        { id: "inbox", label: "Exceptions" }));
    } catch (err) {
      clear(inbox).append(failure("The shipment list", err));
    }
  }

  await Promise.all([loadInbox(), loadDisruptions()]);
  let timer = null;
  const onStatus = () => { clearTimeout(timer); timer = setTimeout(loadInbox, 800); };
  bus.addEventListener("waybill.status", onStatus);
  return { dispose: () => { clearTimeout(timer); bus.removeEventListener("waybill.status", onStatus); } };
}
