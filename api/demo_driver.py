"""The demo's daily life: what the demo's tenants do on the service clock, through the public API.

The simulator moves the fleet; this driver plays the people around it, so that within half an hour of
`make demo` (75 service days at 3,600x) every screen has something on it:

- the seller places an order every `ORDER_EVERY` of service time (to addresses around the warehouses);
- the operator picks and ships each order a few service hours after it was placed, and plans each day's
  delivery run of every warehouse that shipped that day;
- every `RETURN_EVERY` a buyer returns a unit of a shipped order: the seller authorises it, the operator
  receives and grades it (grades cycle A to D, so every disposition shows);
- each simulator shipment bound for a warehouse gets an advance shipping notice, received into stock once
  the waybill has arrived;
- the network operator declares a delay at a border crossing two service days in (re-planning the bookings
  it hits) and lifts it four days later.

Alarms come from the simulator's faults (a reefer excursion, a door opened on the move: raised, then
cleared). Every call is an ordinary API call with a demo key; a refusal is logged and the next tick goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from kernel.clock import parse_time

log = logging.getLogger("xborder.demo")

ORDER_EVERY = timedelta(hours=8)
SHIP_AFTER = timedelta(hours=4)
RETURN_EVERY = timedelta(days=2)
DISRUPT_AFTER, DISRUPTION_LASTS = timedelta(days=2), timedelta(days=4)
ARRIVED = {"ARRIVED", "AT_WAREHOUSE", "OUT_FOR_DELIVERY", "DELIVERED"}
# Buyers near the demo warehouses (city centres; WGS84), so delivery runs have somewhere to go.
BUYERS = [
    ("DE", 51.43, 6.76, "47051"),  # Duisburg
    ("DE", 50.94, 6.96, "50667"),  # Cologne
    ("DE", 51.23, 6.78, "40213"),  # Dusseldorf
    ("PL", 51.76, 19.46, "90-001"),  # Lodz
    ("NL", 51.92, 4.48, "3011"),  # Rotterdam
    ("HU", 47.50, 19.04, "1051"),  # Budapest
]
GRADES = "ABCD"


@dataclass
class DemoDriver:
    http: httpx.Client  # base_url: the API
    keys: dict[str, str]  # demo key name -> secret (seller, operator, forwarder, network)
    started: datetime | None = None
    orders_placed: int = 0
    last_order: datetime | None = None
    last_return: datetime | None = None
    returned: set[str] = field(default_factory=set)
    planned: set[tuple[str, str]] = field(default_factory=set)
    asns: dict[str, str] = field(default_factory=dict)  # waybill -> inbound id ("" when refused)
    received: set[str] = field(default_factory=set)
    disruption: str | None = None
    lifted: bool = False
    done: list[str] = field(default_factory=list)  # what it did, for the log and the tests

    def tick(self, now: datetime) -> None:
        """Do what is due at service time `now`."""
        self.started = self.started or now
        for step in (self._order, self._fulfil, self._runs, self._return, self._inbound, self._disrupt):
            try:
                step(now)
            except (httpx.HTTPError, KeyError, ValueError, IndexError) as exc:
                log.warning("demo %s: %s", step.__name__.strip("_"), exc)

    # -- plumbing
    def _call(self, who: str, method: str, path: str, body: Any = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[who]}"}
        r = self.http.request(method, path, json=body, params=params or None, headers=headers)
        if r.status_code >= 400:
            raise ValueError(f"{method} {path}: {r.status_code} {r.text[:200]}")
        return r.json() if r.content else None

    def _did(self, what: str) -> None:
        self.done.append(what)
        log.info("demo: %s", what)

    # -- the steps
    def _order(self, now: datetime) -> None:
        if self.last_order is not None and now - self.last_order < ORDER_EVERY:
            return
        self.last_order = now
        rows = self._call("seller", "GET", "/v1/inventory")
        stocked = sorted((r for r in rows if r["available"] > 2), key=lambda r: -r["available"])
        if not stocked:
            return
        n = self.orders_placed
        row = stocked[n % len(stocked)]
        country, lat, lon, postcode = BUYERS[n % len(BUYERS)]
        body = {
            "order_ref": f"DEMO-{now:%Y%m%d%H}-{n}",
            "ship_to": {"country": country, "lat": lat, "lon": lon, "postcode": postcode},
            "lines": [{"sku": row["sku"], "qty": 1 + n % 2}],
        }
        order = self._call("seller", "POST", "/v1/orders", body)
        self.orders_placed += 1
        self._did(f"order {order['id']} placed ({row['sku']})")

    def _fulfil(self, now: datetime) -> None:
        page = self._call("operator", "GET", "/v1/orders", status="ALLOCATED", limit=50)
        for order in page["items"]:
            if parse_time(order["created_at"]) > now - SHIP_AFTER:
                continue
            lines = [
                {"sku": a["sku"], "qty": a["qty"], "warehouse": a["warehouse"]} for a in order["allocations"]
            ]
            self._call("operator", "POST", f"/v1/orders/{order['id']}/picks", {"lines": lines})
            self._call("operator", "POST", f"/v1/orders/{order['id']}/ship")
            self._did(f"order {order['id']} picked and shipped")

    def _runs(self, now: datetime) -> None:
        day = now.date().isoformat()
        page = self._call("operator", "GET", "/v1/orders", status="SHIPPED", limit=50)
        shipped_today = {
            a["warehouse"]
            for o in page["items"]
            if o.get("shipped_at") and o["shipped_at"][:10] == day
            for a in o["allocations"]
        }
        for code in sorted(shipped_today):
            if (code, day) in self.planned or now.hour < 12:  # plan the afternoon's run at noon
                continue
            self.planned.add((code, day))
            run = self._call(
                "operator", "POST", f"/v1/warehouses/{code}/delivery-runs", {"date": day, "replan": True}
            )
            self._did(f"delivery run {run['id']} planned at {code} for {day}")

    def _return(self, now: datetime) -> None:
        if self.last_return is not None and now - self.last_return < RETURN_EVERY:
            return
        page = self._call("seller", "GET", "/v1/orders", status="SHIPPED", limit=50)
        candidates = [o for o in page["items"] if o["id"] not in self.returned and o["allocations"]]
        if not candidates:
            return
        self.last_return = now
        order = candidates[-1]
        self.returned.add(order["id"])
        a = order["allocations"][0]
        line = {"sku": a["sku"], "qty": 1}
        rma = self._call(
            "seller",
            "POST",
            "/v1/returns",
            {"order_id": order["id"], "lines": [{**line, "reason": "buyer changed mind"}]},
        )
        self._call(
            "operator",
            "POST",
            f"/v1/returns/{rma['id']}/receipts",
            {"warehouse": a["warehouse"], "lines": [line]},
        )
        grade = GRADES[len(self.returned) % len(GRADES)]
        self._call(
            "operator", "POST", f"/v1/returns/{rma['id']}/inspections", {"lines": [{**line, "grade": grade}]}
        )
        self._did(f"return {rma['id']} received and graded {grade}")

    def _inbound(self, now: datetime) -> None:
        warehouses = {
            w.get("node_id") or w["code"]: w["code"] for w in self._call("seller", "GET", "/v1/warehouses")
        }
        warehouses |= {w: w for w in list(warehouses.values())}
        skus = self._call("seller", "GET", "/v1/skus")
        if not skus:
            return
        page = self._call("forwarder", "GET", "/v1/waybills", limit=100)
        for wb in page["items"]:
            no = wb["waybill_no"]
            code = warehouses.get(str(wb.get("destination")))
            if code is None:
                continue
            if no not in self.asns:
                self.asns[no] = ""
                sku = skus[len(self.asns) % len(skus)]
                line: dict[str, Any] = {"sku": sku["sku"], "qty": 240}
                if sku.get("lot_tracked"):  # a lot named after the shipment, good for the SKU's shelf life
                    days = sku.get("shelf_life_days") or 365
                    line |= {
                        "lot": f"L{no[-6:]}",
                        "expires_on": (now + timedelta(days=days)).date().isoformat(),
                    }
                body = {"warehouse": code, "waybill_no": no, "lines": [line]}
                asn = self._call("seller", "POST", "/v1/inbound", body)
                self.asns[no] = asn["id"]
                self._did(f"inbound {asn['id']} announced on {no} to {code}")
            inbound = self.asns[no]
            if inbound and inbound not in self.received and wb.get("status") in ARRIVED:
                asn = self._call("operator", "GET", f"/v1/inbound/{inbound}")
                lines = [{"sku": ln["sku"], "qty": ln["expected"]} for ln in asn["lines"]]
                self._call("operator", "POST", f"/v1/inbound/{inbound}/receipts", {"lines": lines})
                self.received.add(inbound)
                self._did(f"inbound {inbound} received at {code}")

    def _disrupt(self, now: datetime) -> None:
        assert self.started is not None
        if self.disruption is None and now - self.started >= DISRUPT_AFTER:
            body = {"kind": "delay", "node": "MAL", "hours": 36, "reason": "demo: congestion at Malaszewicze"}
            declared = self._call("network", "POST", "/v1/disruptions", body)
            self.disruption = declared["id"]
            self._did(f"disruption {declared['id']} declared at MAL")
        elif self.disruption and not self.lifted and now - self.started >= DISRUPT_AFTER + DISRUPTION_LASTS:
            self._call("network", "POST", f"/v1/disruptions/{self.disruption}/lift")
            self.lifted = True
            self._did(f"disruption {self.disruption} lifted")


def run_driver(
    driver: DemoDriver, service_now: Callable[[], datetime], stop: threading.Event, every_s: float = 2.0
) -> None:
    """Tick the driver every `every_s` real seconds until `stop` is set (quietly until the API answers)."""
    answered = False
    while not stop.wait(every_s):
        try:
            now = service_now()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            if answered:
                log.warning("demo: no service clock: %s", exc)
            continue
        answered = True
        driver.tick(now)
