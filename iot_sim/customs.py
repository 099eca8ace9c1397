"""The customs block the simulator's bookings carry (`POST /v1/bookings` `customs`), so the demo's
shipments file their declarations to the (simulated) single window.

Every code here is a placeholder in the right format, not a real registration: enterprise codes are
fictitious 18-character unified social credit codes, `7920` and `7609` stand in for the customs offices of
declaration and exit, and the HS codes are the 10-digit tariff lines of the goods named (tea 0902109000,
bamboo boards 4419190000 and power banks 8507600090: China's tariff, read as an estimate, not verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

LOGISTICS = {"code": "91511500MA62XBXB01", "name": "Xborder Logistics (Yibin) Co., Ltd."}
GOODS = {
    "Sichuan Yibin Tea Export Co.": ("0902109000", "green tea, 250 g tins", "pcs", 6.0),
    "Cuiping Bamboo Products Co.": ("4419190000", "bamboo cutting boards", "pcs", 4.5),
    "Yibin Sanjiang Electronics Co.": ("8507600090", "lithium power banks 10 Ah", "pcs", 9.0),
    "Yibin Lingang Trading Co., Ltd.": ("0902109000", "black tea, 100 g packs", "pcs", 3.0),
}


# The simulated single window of the demo knows no such enterprise: this shipper's declarations are rejected
# (an alarm on its waybills) until corrected with `PUT /v1/waybills/{waybill_no}/customs`, which the
# shipper's clerk (`CustomsClerk`) does after `CORRECTION_DELAY`.
UNREGISTERED = {"Yibin Lingang Trading Co., Ltd.": "91511500MA00000000"}


def enterprise_code(shipper: str, registered: bool = False) -> str:
    """A stable fictitious USCC for a shipper name (18 characters, digits and capitals); the demo's
    unregistered shipper declares a code the window does not know unless `registered`."""
    if shipper in UNREGISTERED and not registered:
        return UNREGISTERED[shipper]
    digest = sum((i + 1) * ord(ch) for i, ch in enumerate(shipper)) % 10**8
    return f"91511500MA{digest:08d}"


def customs_block(shipper: str, destination: str, weight_kg: float) -> dict[str, Any]:
    """B2B (9810) customs data for a container of the shipper's goods to `destination` (a UN/LOCODE)."""
    hs_code, description, unit, unit_value = GOODS.get(shipper, GOODS["Yibin Lingang Trading Co., Ltd."])
    quantity = max(1, int(weight_kg // 2))
    return {
        "ecommerce_enterprise": {"code": enterprise_code(shipper), "name": shipper},
        "logistics_enterprise": LOGISTICS,
        "declaration_customs": "7920",
        "exit_customs": "7609",
        "consignee_country": destination[:2],
        "gross_weight_kg": f"{weight_kg:.1f}",
        "net_weight_kg": f"{weight_kg * 0.9:.1f}",
        "packages": max(1, int(weight_kg // 250)),
        "goods": [
            {
                "hs_code": hs_code,
                "description": description,
                "quantity": str(quantity),
                "unit": unit,
                "value": {"amount": f"{quantity * unit_value:.2f}", "currency": "USD"},
            }
        ],
    }


# How long after the single window's rejection the demo shipper's clerk sends the corrected data, in service
# time: an estimate of a clerk who reads the rejection and looks up the registered code the same working
# morning, not a measured figure. At the demo's clock speed this is seconds of real time, so a newcomer sees
# the rejection's alarm on the dashboard and then its correction clear it.
CORRECTION_DELAY = timedelta(hours=3)
NOT_REGISTERED = "企业未备案"  # the simulated window's reason for an enterprise it does not know


@dataclass
class _Watched:
    block: dict[str, Any]
    rejected_at: datetime | None = None


class CustomsClerk:
    """The demo shipper's customs clerk: for a waybill declared with an unregistered enterprise code, once the
    single window's rejection is in and `CORRECTION_DELAY` of service time has passed, `PUT`s the customs
    data again with the shipper's registered code. Waybills declared with registered codes are let go once
    their waybill message is accepted. State is in memory: a simulator restarted between a rejection and its
    correction leaves it to `PUT /v1/waybills/{no}/customs` by hand."""

    def __init__(self, api: Any, delay: timedelta = CORRECTION_DELAY) -> None:
        self.api = api  # an `iot_sim.api.XborderApi` (waybill_customs, correct_customs)
        self.delay = delay
        self.watched: dict[str, _Watched] = {}
        self.corrected: list[str] = []

    def booked(self, waybill_no: str, block: dict[str, Any] | None) -> None:
        """Watch a waybill booked with `block` (None: booked without customs data, nothing to watch)."""
        if block is not None:
            self.watched[waybill_no] = _Watched(block)

    def tick(self, now: datetime) -> None:
        """Look at the watched waybills' receipts; correct the rejected ones whose delay has passed."""
        for no in list(self.watched):
            w = self.watched[no]
            if w.rejected_at is None:
                doc = self.api.waybill_customs(no)
                rejected = [
                    m
                    for m in doc.get("messages", [])
                    if m.get("status") == "REJECTED"
                    and NOT_REGISTERED in ((m.get("receipt") or {}).get("return_info") or "")
                ]
                if rejected:
                    w.rejected_at = _time(rejected[0]["receipt"].get("received")) or now
                elif any(m.get("status") == "ACCEPTED" for m in doc.get("messages", [])):
                    del self.watched[no]  # declared with registered codes: nothing to correct
                    continue
            if w.rejected_at is not None and now >= w.rejected_at + self.delay:
                self.api.correct_customs(no, corrected(w.block))
                self.corrected.append(no)
                del self.watched[no]


def corrected(block: dict[str, Any]) -> dict[str, Any]:
    """The customs block with every unregistered enterprise code replaced by the shipper's registered one."""
    out = dict(block)
    for role in ("ecommerce_enterprise", "platform", "logistics_enterprise"):
        ent = out.get(role)
        if ent and ent.get("code") in UNREGISTERED.values():
            out[role] = {**ent, "code": enterprise_code(str(ent["name"]), registered=True)}
    return out


def _time(value: object) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
