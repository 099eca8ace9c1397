"""A small warehouse world per test: unique warehouse codes, a seller, its SKUs and keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.container import Container
from kernel.identity import Role, TenantKind
from warehouse.audit import audit
from warehouse.ports import FakeEtaLookup, FakeShipmentBooker


@dataclass
class World:
    client: TestClient
    admin: dict[str, str]
    seller: dict[str, str]
    seller_id: str
    operator: dict[str, str]
    wh: dict[str, str]  # role name -> code, e.g. "de" -> "DE3F9A1B"
    booker: FakeShipmentBooker
    eta: FakeEtaLookup
    container: Container
    other_seller: dict[str, str] = field(default_factory=dict)

    def post(self, path: str, body: Any, who: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.post(
            path, json=body, headers={**(who or self.seller), **kw.pop("headers", {})}, **kw
        )

    def get(self, path: str, who: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=who or self.seller, **kw)

    def sku(self, code: str, **extra: Any) -> str:
        body = {"sku": code, "name": code.title(), "weight_kg": 1.2, "volume_m3": 0.003, **extra}
        r = self.post("/v1/skus", body)
        assert r.status_code == 201, r.text
        return code

    def stock(self, wh: str, lines: list[dict[str, Any]], waybill: str | None = None) -> dict[str, Any]:
        """Announce goods and receive exactly what was announced."""
        r = self.post("/v1/inbound", {"warehouse": self.wh[wh], "waybill_no": waybill, "lines": lines})
        assert r.status_code == 201, r.text
        asn = r.json()
        counted = [{"sku": ln["sku"], "qty": ln["qty"], "lot": ln.get("lot")} for ln in lines]
        r = self.post(f"/v1/inbound/{asn['id']}/receipts", {"lines": counted}, self.operator)
        assert r.status_code == 201, r.text
        return r.json()

    def inventory(self, **params: str) -> dict[tuple[str, str, str | None], dict[str, Any]]:
        r = self.get("/v1/inventory", params=params)
        assert r.status_code == 200, r.text
        return {(row["warehouse"], row["sku"], row["lot"]): row for row in r.json()}

    def check(self) -> None:
        with self.container.db.session() as s:
            assert audit(s, [self.seller_id]) == []


SITES = {
    "de": ("Duisburg test", "DE", 51.43, 6.76, "DUI"),
    "pl": ("Lodz test", "PL", 51.76, 19.46, "LOD"),
    "nl": ("Rotterdam test", "NL", 51.92, 4.48, "RTM"),
    "us": ("Los Angeles test", "US", 33.94, -118.25, "LAX"),
}


@pytest.fixture
def world(client: TestClient, keys: Any, admin: dict[str, str], container: Container) -> World:
    booker, eta = FakeShipmentBooker(), FakeEtaLookup()
    container.shipment_booker = booker
    container.eta_lookup = eta
    tag = secrets.token_hex(3).upper()
    codes = {}
    for name, (title, country, lat, lon, node) in SITES.items():
        code = f"{name.upper()}{tag}"
        r = client.post(
            "/v1/warehouses",
            json={"code": code, "name": title, "country": country, "lat": lat, "lon": lon, "node_id": node},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        codes[name] = code
    seller_id = keys.tenant(TenantKind.SELLER, "Yibin Tea Co")
    seller = keys.headers(Role.SELLER, seller_id)
    operator = keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR, "3PL"), list(codes.values()))
    w = World(client, admin, seller, seller_id, operator, codes, booker, eta, container)
    w.other_seller = keys.headers(Role.SELLER)
    return w
