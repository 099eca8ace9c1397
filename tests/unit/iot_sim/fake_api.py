"""An in-memory stand-in for the xborder HTTP API, served through httpx.MockTransport."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

T0 = datetime(2027, 3, 1, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


NODES = {
    "CNYIB": ("YIB", "Yibin", 28.77, 104.63),
    "CNCKG": ("CKG_RAIL", "Chongqing", 29.6, 106.3),
    "DEDUI": ("DUI", "Duisburg", 51.43, 6.76),
    "PLLOD": ("LOD", "Lodz", 51.76, 19.46),
}


class FakeXborder:
    def __init__(
        self, now: datetime = T0, speed: float = 3600.0, unreachable: frozenset[str] = frozenset()
    ) -> None:
        self.now = now
        self.speed = speed
        self.unreachable = unreachable  # destinations with no route (422)
        self.quotes: dict[str, dict[str, Any]] = {}
        self.booked_options: list[str] = []
        self.waybills: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.page_size = 2

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: self.handle(request))  # late-bound: tests swap handle

    def add_waybill(
        self,
        no: str,
        destination: str = "DEDUI",
        trackers: list[str] | None = None,
        cargo: dict[str, Any] | None = None,
        status: str = "BOOKED",
    ) -> dict[str, Any]:
        dep = self.now + timedelta(hours=2)
        origin, hub, dest = NODES["CNYIB"], NODES["CNCKG"], NODES.get(destination, NODES["DEDUI"])
        stops = [
            {
                "node_id": origin[0],
                "name": origin[1],
                "lat": origin[2],
                "lon": origin[3],
                "role": "origin",
                "planned_arrival": None,
                "planned_departure": iso(dep),
            },
            {
                "node_id": hub[0],
                "name": hub[1],
                "lat": hub[2],
                "lon": hub[3],
                "role": "hub",
                "planned_arrival": iso(dep + timedelta(hours=8)),
                "planned_departure": iso(dep + timedelta(hours=20)),
            },
            {
                "node_id": dest[0],
                "name": dest[1],
                "lat": dest[2],
                "lon": dest[3],
                "role": "destination",
                "planned_arrival": iso(dep + timedelta(days=14)),
                "planned_departure": None,
            },
        ]
        wb = {
            "waybill_no": no,
            "status": status,
            "trackers": list(trackers or []),
            "cargo": cargo or {"equipment": "40HC", "temperature": None},
            "itinerary": {"legs": [], "stops": stops},
            "milestones": [],
        }
        self.waybills[no] = wb
        return wb

    def problem(self, status: int, detail: str) -> httpx.Response:
        return httpx.Response(
            status,
            json={"type": "about:blank", "title": "error", "status": status, "detail": detail},
            headers={"content-type": "application/problem+json"},
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        path = request.url.path
        self.calls.append((request.method, path, body))
        if request.url.path != "/healthz" and request.headers.get("authorization") != "Bearer k-1":
            return self.problem(401, "bad key")
        if path == "/healthz":
            return httpx.Response(200, json={"status": "ok", "now": iso(self.now), "clock_speed": self.speed})
        if request.method == "POST" and path == "/v1/quotes":
            if body["destination"] in self.unreachable:
                return self.problem(422, f"no route to {body['destination']}")
            qid = f"q-{len(self.quotes) + 1}"
            self.quotes[qid] = body
            options = [{"id": "o-fast", "labels": ["fastest"]}, {"id": "o-cheap", "labels": ["cheapest"]}]
            return httpx.Response(201, json={"id": qid, "options": options})
        if request.method == "POST" and path == "/v1/bookings":
            q = self.quotes[body["quote_id"]]
            assert body["option_id"] in ("o-cheap", "o-fast")
            self.booked_options.append(body["option_id"])
            no = f"XB{len(self.waybills) + 1:06d}"
            self.add_waybill(no, q["destination"], cargo=q["cargo"])
            return httpx.Response(201, json={"id": f"b-{no}", "waybill_no": no, "status": "BOOKED"})
        if request.method == "POST" and path == "/v1/devices":
            if body["device_id"] in self.devices:
                return self.problem(409, "exists")
            self.devices[body["device_id"]] = body
            return httpx.Response(
                201,
                json={
                    "device_id": body["device_id"],
                    "username": body["device_id"],
                    "password": f"pw-{body['device_id']}",
                    "topic": f"xborder/v1/devices/{body['device_id']}/telemetry",
                },
            )
        if request.method == "POST" and path.endswith("/trackers"):
            no = path.split("/")[3]
            if body["device_id"] in self.waybills[no]["trackers"]:
                return self.problem(409, "attached")
            self.waybills[no]["trackers"].append(body["device_id"])
            return httpx.Response(201, json={"waybill_no": no, "device_id": body["device_id"]})
        if request.method == "GET" and path == "/v1/waybills":
            nos = sorted(self.waybills)
            cursor = request.url.params.get("cursor")
            if cursor:
                after = base64.urlsafe_b64decode(cursor).decode()
                nos = [n for n in nos if n > after]
            page = nos[: self.page_size]
            nxt = base64.urlsafe_b64encode(page[-1].encode()).decode() if len(nos) > self.page_size else None
            items = [{"waybill_no": n, "status": self.waybills[n]["status"]} for n in page]
            return httpx.Response(200, json={"items": items, "next": nxt})
        if request.method == "GET" and path.startswith("/v1/waybills/"):
            no = path.split("/")[3]
            if no not in self.waybills:
                return self.problem(404, "no such waybill")
            return httpx.Response(200, json=self.waybills[no])
        return self.problem(404, f"no route {request.method} {path}")
