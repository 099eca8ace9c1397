"""Every route of /openapi.json, called by every role and by another tenant, answers as the table says.

The table below is the authorization contract, one row per (method, path): which roles the route admits
(admin always) and, where the path names an object of tenant A, which of the admitted roles of tenant A see
it. For every row the test calls the route without a key (401), with each role's key of tenant A (403 where
the route does not admit the role, 404 where the role does not see the object, else success or a 4xx
validation problem, never a 5xx) and with a key of another tenant in each admitted role (404 for tenant A's
ids, and never a trace of tenant A's objects in what comes back). A route in /openapi.json that the table
does not list fails the test, so a new endpoint cannot escape it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from kernel.identity import Role, TenantKind
from tests.conftest import Keys
from tests.integration.warehouse import conftest as warehouse_fixtures
from tests.integration.warehouse.conftest import World

ADMIN, FWD, SELLER, OPER, REG = "admin", "forwarder", "seller", "operator", "regulator"
ROLES = (ADMIN, FWD, SELLER, OPER, REG)
ANY = frozenset({FWD, SELLER, OPER})
# The pilot zone's regulator: a tenant without objects of its own. It is admitted to reference data,
# statistics and shared events; a route that names tenant A's object answers it 404 (it sees no object), and
# no answer to it may show tenant A's objects, except the shared events that are its purpose (`shared`).
ANYR = ANY | {REG}
NONE: frozenset[str] = frozenset()

world = warehouse_fixtures.world  # the seller, its warehouses and their operator: tenant A


@dataclass(frozen=True)
class Rule:
    """Who a route admits (admin always) and, where the path names tenant A's object, who of A sees it."""

    admits: frozenset[str]
    sees: frozenset[str] | None = None  # None: the path names no tenant's object
    public: bool = False  # no key needed (health and metrics)
    # Another tenant's key in an admitted role: "ok" (and no trace of tenant A), "404", or "refused" (a body
    # naming tenant A's objects: 404, 409 or 422, never a success).
    other: str = "ok"
    shared: bool = False  # the regulator sees every tenant's objects here (DCSA events)


def owned(admits: frozenset[str], sees: frozenset[str]) -> Rule:
    """A route whose path names tenant A's object: another tenant gets 404."""
    return Rule(admits, sees, other="404")


F, S, OP = frozenset({FWD}), frozenset({SELLER}), frozenset({OPER})
SO = frozenset({SELLER, OPER})

ROUTES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(NONE, public=True),
    ("GET", "/metrics"): Rule(NONE, public=True),
    ("GET", "/v1/me"): Rule(ANYR),
    # tenants and keys: the platform's administration
    ("POST", "/v1/tenants"): Rule(NONE),
    ("POST", "/v1/api-keys"): Rule(NONE),
    # a tenant revokes its own keys (here a spare key of the seller's; revoking twice is 204 again)
    ("DELETE", "/v1/api-keys/{key_id}"): owned(ANYR, S),
    # the network: shared reference data
    ("GET", "/v1/network/nodes"): Rule(ANYR),
    ("GET", "/v1/network/nodes/{node_id}"): Rule(ANYR),
    ("GET", "/v1/network/services"): Rule(ANYR),
    ("GET", "/v1/network/services/{service_id}/departures"): Rule(ANYR),
    # network-wide changes: admin and the platform's network operator (tested in test_network_operator.py)
    ("PATCH", "/v1/network/services/{service_id}"): Rule(NONE),
    # the rate table: read and replaced by the platform (tested in test_rate_table_api.py)
    ("GET", "/v1/rates"): Rule(NONE),
    ("PUT", "/v1/rates"): Rule(NONE),
    ("POST", "/v1/disruptions"): Rule(NONE),
    ("GET", "/v1/disruptions"): Rule(ANYR),
    ("POST", "/v1/disruptions/{disruption_id}/lift"): Rule(NONE),
    # quotes, bookings, waybills, devices: the forwarder's
    ("POST", "/v1/quotes"): Rule(F),
    ("GET", "/v1/quotes/{quote_id}"): owned(F, F),
    ("POST", "/v1/bookings"): Rule(F, other="404"),  # another forwarder books tenant A's quote
    ("POST", "/v1/bookings/{booking_id}/cancel"): owned(F, F),
    ("GET", "/v1/waybills"): Rule(ANY),
    ("GET", "/v1/waybills/{waybill_no}"): owned(ANY, F),
    ("GET", "/v1/waybills/{waybill_no}/events"): owned(ANY, F),
    ("GET", "/v1/waybills/{waybill_no}/readings"): owned(ANY, F),
    ("GET", "/v1/waybills/{waybill_no}/customs"): owned(ANY, F),
    ("PUT", "/v1/waybills/{waybill_no}/customs"): owned(F, F),
    ("GET", "/v1/customs/messages/{message_id}"): owned(ANY, F),
    # an XML receipt; the matrix's JSON body is no receipt (422), another tenant's never applies
    ("POST", "/v1/customs/receipts"): Rule(F),
    ("POST", "/v1/devices"): Rule(F),
    ("GET", "/v1/broker"): Rule(ANY),
    ("GET", "/v1/devices/{device_id}"): owned(F, F),
    ("POST", "/v1/waybills/{waybill_no}/trackers"): owned(F, F),
    ("POST", "/v1/waybills/{waybill_no}/alarms/{kind}/acknowledge"): owned(F, F),
    ("DELETE", "/v1/waybills/{waybill_no}/trackers/{device_id}"): owned(F, F),
    ("POST", "/v1/webhooks"): Rule(ANY),
    ("GET", "/v1/webhooks"): Rule(ANY),
    ("GET", "/v1/stream"): Rule(ANY),
    # warehouses, stock, orders, transfers, returns: the seller's, run by the warehouses' operator
    ("POST", "/v1/warehouses"): Rule(NONE),
    ("GET", "/v1/warehouses"): Rule(ANY),
    ("POST", "/v1/skus"): Rule(S),
    ("GET", "/v1/skus"): Rule(SO),
    ("POST", "/v1/inbound"): Rule(S, other="refused"),  # another seller announces tenant A's SKU
    ("GET", "/v1/inbound"): Rule(SO),
    ("GET", "/v1/inbound/{inbound_id}"): owned(SO, SO),
    ("POST", "/v1/inbound/{inbound_id}/receipts"): owned(OP, OP),
    ("GET", "/v1/inventory"): Rule(SO),
    ("GET", "/v1/atp"): Rule(S),
    ("POST", "/v1/cycle-counts"): Rule(OP, other="refused"),  # another operator counts tenant A's stock
    ("POST", "/v1/movements/{movement_id}/reverse"): owned(OP, OP),
    ("POST", "/v1/expiry/run"): Rule(NONE),
    ("POST", "/v1/orders"): Rule(S, other="refused"),  # another seller orders tenant A's SKU
    ("GET", "/v1/orders"): Rule(SO),
    ("GET", "/v1/orders/{order_id}"): owned(SO, SO),
    ("POST", "/v1/orders/{order_id}/cancel"): owned(SO, SO),
    ("POST", "/v1/orders/{order_id}/ship"): owned(OP, OP),  # the floor ships, not the seller
    ("POST", "/v1/orders/{order_id}/picks"): owned(OP, OP),
    ("POST", "/v1/transfers"): Rule(S, other="refused"),  # another seller moves tenant A's SKU
    ("GET", "/v1/transfers/{transfer_id}"): owned(SO, SO),
    ("POST", "/v1/transfers/{transfer_id}/receipts"): owned(OP, OP),
    ("POST", "/v1/returns"): Rule(S, other="404"),  # another seller returns tenant A's order
    ("GET", "/v1/returns"): Rule(SO),
    ("GET", "/v1/returns/{rma_id}"): owned(SO, SO),
    ("POST", "/v1/returns/{rma_id}/receipts"): owned(OP, OP),
    ("POST", "/v1/returns/{rma_id}/inspections"): owned(OP, OP),
    ("POST", "/v1/returns/{rma_id}/refurbishments"): owned(OP, OP),
    ("POST", "/v1/returns/{rma_id}/refund"): owned(S, S),
    ("GET", "/v1/return-policy"): Rule(S),
    ("PUT", "/v1/return-policy"): Rule(S),
    ("GET", "/v1/replenishment"): Rule(SO),
    ("POST", "/v1/replenishment/run"): Rule(NONE),
    # statistics: a tenant its own figures, the regulator aggregates over tenants (small groups suppressed)
    ("GET", "/v1/stats/warehouses"): Rule(SO | {REG}),
    ("GET", "/v1/stats/shipments"): Rule(ANYR),
    # shared events (DCSA Track & Trace): a tenant its own shipments', the regulator every tenant's
    ("GET", "/v1/events"): Rule(ANYR, shared=True),
    ("POST", "/v1/warehouses/{code}/delivery-runs"): owned(OP, OP),
    ("GET", "/v1/warehouses/{code}/delivery-runs"): owned(OP, OP),
    ("GET", "/v1/warehouses/{code}/incoming"): owned(OP, OP),
    ("GET", "/v1/delivery-runs/{run_id}"): owned(OP, OP),
    ("GET", "/v1/warehouses/{code}/delivery-candidates"): owned(OP, OP),
}

# Known defects outside the reach of this test's change, one case each, left out until their fix lands; each
# states the answer the case gives now. The right answer is the one the table above expects.
LEFT_OUT: dict[tuple[str, str, str], str] = {}  # (method, path, who) of a known defect, with what came back

OK_STATUSES = {200, 201, 202, 204, 400, 409, 422}  # success, or a problem with the request itself
EXPECTED = {
    "401": {401},
    "403": {403},
    "404": {404},
    "ok": OK_STATUSES,
    "refused": {404, 409, 422},
    "public": {200, 503},  # no key needed; /healthz says 503 here, where the test app has no MQTT client
}


@dataclass
class Tenants:
    """Tenant A's keys and objects, and keys of other tenants in every role."""

    w: World
    keys: dict[str, dict[str, str]]
    others: dict[str, dict[str, str]]
    ids: dict[str, str]  # path parameter -> tenant A's value
    markers: set[str] = field(default_factory=set)  # what no other tenant may ever see
    serial: int = 0

    def next(self) -> int:
        self.serial += 1
        return self.serial


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _first_id(body: Any) -> str:
    items = body["items"] if isinstance(body, dict) else body
    return str(items[0]["id"])


def make_tenants(w: World, keys: Keys) -> Tenants:
    """Tenant A: a forwarder with a quote, booking, device, tracker and webhook; a seller with a SKU, stock,
    an announced inbound, orders, a transfer and a return; an operator of the seller's warehouses with a
    movement, a delivery run and a disruption. Other tenants: a forwarder, a seller, an operator elsewhere."""
    c, tag = w.client, secrets.token_hex(3).upper()
    fwd = keys.headers(Role.FORWARDER, keys.tenant(TenantKind.FORWARDER, "Chengdu Freight"))
    elsewhere = f"OX{tag}"
    _ok(
        c.post(
            "/v1/warehouses",
            json={"code": elsewhere, "name": "Elsewhere", "country": "FR", "lat": 48.9, "lon": 2.4},
            headers=w.admin,
        )
    )
    others = {
        FWD: keys.headers(Role.FORWARDER, keys.tenant(TenantKind.FORWARDER, "Other Freight")),
        SELLER: w.other_seller,
        OPER: keys.headers(Role.OPERATOR, keys.tenant(TenantKind.OPERATOR, "Other 3PL"), [elsewhere]),
    }
    quote = _ok(
        c.post(
            "/v1/quotes",
            headers=fwd,
            json={
                "origin": "CNYIB",
                "destination": "DEDUI",
                "ready_at": "2027-03-01T06:00:00Z",
                "cargo": {"weight_kg": 900, "volume_m3": 3, "equipment": "LCL"},
                "customs_mode": "9610",
            },
        )
    )
    tea = {
        "hs_code": "0902109000",
        "description": "green tea",
        "quantity": "1",
        "unit": "pcs",
        "value": {"amount": "10", "currency": "USD"},
    }
    customs = {
        "ecommerce_enterprise": {"code": "5115960001", "name": "Yibin Tea Export Co"},
        "logistics_enterprise": {"code": "5115960002", "name": "Chengdu Freight"},
        "declaration_customs": "7920",
        "exit_customs": "7609",
        "consignee_country": "DE",
        "gross_weight_kg": "900",
        "net_weight_kg": "800",
        "packages": 1,
        "parcels": [{"logistics_no": f"MX{tag}P1", "gross_weight_kg": "900", "goods": [tea]}],
    }
    booking = _ok(
        c.post(
            "/v1/bookings",
            headers=fwd,
            json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"], "customs": customs},
        )
    )
    message = _ok(c.get(f"/v1/waybills/{booking['waybill_no']}/customs", headers=fwd))["messages"][0]
    cancelled = _ok(
        c.post(
            "/v1/bookings",
            headers=fwd,
            json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"]},
        )
    )
    device = f"mx-{tag.lower()}"
    _ok(c.post("/v1/devices", headers=fwd, json={"device_id": device, "kind": "container"}))
    _ok(c.post(f"/v1/waybills/{booking['waybill_no']}/trackers", headers=fwd, json={"device_id": device}))
    hook = _ok(
        c.post(
            "/v1/webhooks",
            headers=fwd,
            json={"url": f"https://93.184.215.14/{tag}", "events": ["waybill.status"], "secret": "s" * 32},
        )
    )
    sku = w.sku(f"MX{tag}", unit_value=20)
    w.stock("de", [{"sku": sku, "qty": 60}])
    de, pl = w.wh["de"], w.wh["pl"]
    count = _ok(
        w.post(
            "/v1/cycle-counts",
            {"warehouse": de, "seller_id": w.seller_id, "lines": [{"sku": sku, "qty": 59}]},
            w.operator,
        )
    )
    inbound = _ok(w.post("/v1/inbound", {"warehouse": de, "lines": [{"sku": sku, "qty": 5}]}))
    line = [{"sku": sku, "qty": 2}]
    ship_to = {"country": "DE", "lat": 51.45, "lon": 6.8}
    order = _ok(w.post("/v1/orders", {"order_ref": f"MXA{tag}", "ship_to": ship_to, "lines": line}))
    doomed = _ok(w.post("/v1/orders", {"order_ref": f"MXC{tag}", "ship_to": ship_to, "lines": line}))
    three = [{"sku": sku, "qty": 3}]
    sold = _ok(w.post("/v1/orders", {"order_ref": f"MXB{tag}", "ship_to": ship_to, "lines": three}))
    _ok(w.post(f"/v1/orders/{sold['id']}/ship", {}, w.operator))
    rma = _ok(
        w.post("/v1/returns", {"order_id": sold["id"], "lines": [{"sku": sku, "qty": 2, "reason": "x"}]})
    )
    # both units back; one graded B waits for refurbishment, the other for its inspection
    _ok(w.post(f"/v1/returns/{rma['id']}/receipts", {"warehouse": de, "lines": line}, w.operator))
    graded = {"lines": [{"sku": sku, "qty": 1, "grade": "B"}]}
    _ok(w.post(f"/v1/returns/{rma['id']}/inspections", graded, w.operator))
    transfer = _ok(w.post("/v1/transfers", {"from_warehouse": de, "to_warehouse": pl, "lines": line}))
    today = w.container.clock.now().date().isoformat()
    run = _ok(w.post(f"/v1/warehouses/{de}/delivery-runs", {"date": today, "time_limit_s": 1}, w.operator))
    node = _first_id(_ok(c.get("/v1/network/nodes", headers=w.admin)))
    service = _first_id(_ok(c.get("/v1/network/services", headers=w.admin)))
    spare_key = _ok(
        c.post("/v1/api-keys", json={"tenant_id": w.seller_id, "role": "seller"}, headers=w.admin)
    )
    disruption = _ok(
        c.post(
            "/v1/disruptions",
            headers=w.admin,
            json={
                "kind": "suspend",
                "service_id": service,
                "starts_at": "2031-01-01T00:00:00Z",
                "ends_at": "2031-01-02T00:00:00Z",
                "reason": "authorization matrix",
            },
        )
    )
    ids = {
        "node_id": node,
        "service_id": service,
        "disruption_id": str(disruption["id"]),
        "key_id": spare_key["id"],
        "quote_id": quote["id"],
        "option_id": quote["options"][0]["id"],
        "booking_id": booking["id"],
        "cancelled_booking_id": cancelled["id"],
        "waybill_no": booking["waybill_no"],
        "message_id": message["id"],
        "customs": customs,
        "device_id": device,
        "kind": "delay",  # an alarm kind; the booked waybill has none open: 409, a problem with the request
        "sku": sku,
        "inbound_id": inbound["id"],
        "movement_id": count["movements"][0],
        "order_id": order["id"],
        "doomed_order_id": doomed["id"],
        "sold_id": sold["id"],
        "transfer_id": transfer["id"],
        "rma_id": rma["id"],
        "code": de,
        "to": pl,
        "run_id": run["id"],
        "today": today,
        "tag": tag,
    }
    markers = {
        quote["id"],
        booking["id"],
        cancelled["id"],
        cancelled["waybill_no"],
        booking["waybill_no"],
        message["id"],
        device,
        hook["id"],
        sku,
        inbound["id"],
        order["id"],
        doomed["id"],
        sold["id"],
        f"MXA{tag}",
        transfer["id"],
        transfer["waybill_no"],
        rma["id"],
        run["id"],
        w.seller_id,
    }
    regulator = keys.headers(Role.REGULATOR, keys.tenant(TenantKind.REGULATOR, "Yibin zone administration"))
    keys_of_a = {ADMIN: w.admin, FWD: fwd, SELLER: w.seller, OPER: w.operator, REG: regulator}
    return Tenants(w, keys_of_a, others, ids, markers)


def request_body(t: Tenants, method: str, path: str) -> Any:
    """A body the route accepts from tenant A (unique where a route creates a named thing)."""
    i, n = t.ids, t.next()
    sku, line = i["sku"], [{"sku": i["sku"], "qty": 1}]
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/v1/tenants"): {"name": f"matrix {n}", "kind": "seller"},
        ("POST", "/v1/api-keys"): {"tenant_id": t.w.seller_id, "role": "seller"},
        ("PATCH", "/v1/network/services/{service_id}"): {"reason": "authorization matrix, no change"},
        # a table the network refuses (an unknown lane): 422, the table in use stays
        ("PUT", "/v1/rates"): {"rows": [{"lane": "NOPE"}]},
        # a disruption the network refuses (an unknown service): no booking of anyone is re-planned
        ("POST", "/v1/disruptions"): {
            "kind": "suspend",
            "service_id": "NOPE",
            "reason": "authorization matrix",
        },
        ("POST", "/v1/quotes"): {
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 900, "volume_m3": 3, "equipment": "LCL"},
            "customs_mode": "9610",
            "max_options": 1,
        },
        ("POST", "/v1/bookings"): {"quote_id": i["quote_id"], "option_id": i["option_id"]},
        ("PUT", "/v1/waybills/{waybill_no}/customs"): i["customs"],
        ("POST", "/v1/devices"): {"device_id": f"md-{n}-{i['tag'].lower()}", "kind": "container"},
        ("POST", "/v1/waybills/{waybill_no}/trackers"): {"device_id": i["device_id"]},
        ("POST", "/v1/waybills/{waybill_no}/alarms/{kind}/acknowledge"): {"assignee": "matrix"},
        ("POST", "/v1/webhooks"): {
            "url": f"https://93.184.215.14/{i['tag']}/{n}",
            "events": ["waybill.status"],
            "secret": "s" * 32,
        },
        ("POST", "/v1/warehouses"): {
            "code": f"MX{i['tag']}{n}",
            "name": "Matrix",
            "country": "DE",
            "lat": 50.1,
            "lon": 8.7,
        },
        ("POST", "/v1/skus"): {"sku": f"MXS{n}{i['tag']}", "name": "Cup", "weight_kg": 1, "volume_m3": 0.001},
        ("POST", "/v1/inbound"): {"warehouse": i["code"], "lines": line},
        ("POST", "/v1/inbound/{inbound_id}/receipts"): {"lines": line},
        ("POST", "/v1/cycle-counts"): {
            "warehouse": i["code"],
            "seller_id": t.w.seller_id,
            "lines": [{"sku": sku, "qty": 100}],
        },
        ("POST", "/v1/orders"): {"order_ref": f"MXO{n}", "ship_to": {"country": "DE"}, "lines": line},
        ("POST", "/v1/orders/{order_id}/picks"): {"lines": line},
        ("POST", "/v1/transfers"): {"from_warehouse": i["code"], "to_warehouse": i["to"], "lines": line},
        ("POST", "/v1/transfers/{transfer_id}/receipts"): {"lines": line},
        ("POST", "/v1/returns"): {"order_id": i["sold_id"], "lines": [{"sku": sku, "qty": 1, "reason": "x"}]},
        ("POST", "/v1/returns/{rma_id}/receipts"): {"warehouse": i["code"], "lines": line},
        ("POST", "/v1/returns/{rma_id}/inspections"): {"lines": [{"sku": sku, "qty": 1, "grade": "A"}]},
        ("POST", "/v1/returns/{rma_id}/refurbishments"): {
            "lines": [{"sku": sku, "qty": 1, "outcome": "restock"}]
        },
        ("PUT", "/v1/return-policy"): {"grades": {}},
        ("POST", "/v1/warehouses/{code}/delivery-runs"): {"date": i["today"], "time_limit_s": 1},
    }
    return bodies.get((method, path))


# Routes that change an object for good act on one of their own, so that the other routes still see it live.
PATH_IDS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1/bookings/{booking_id}/cancel"): {"booking_id": "cancelled_booking_id"},
    ("POST", "/v1/orders/{order_id}/cancel"): {"order_id": "doomed_order_id"},
}

QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/v1/atp"): {"sku": "{sku}", "by": "2027-03-10T00:00:00Z"},
    ("GET", "/v1/inventory"): {"sku": "{sku}"},
    ("GET", "/v1/orders"): {"seller_id": "{seller_id}"},
    ("GET", "/v1/warehouses/{code}/delivery-candidates"): {"date": "2027-03-02"},
}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    who: str  # "anonymous", a role of tenant A, or "other <role>"
    expected: str


def cases_of(method: str, path: str, rule: Rule) -> list[Case]:
    """The calls one route gets, in an order where a refused call comes before any that changes state."""
    if rule.public:
        return [Case(method, path, who, "public") for who in ("anonymous", *ROLES)]
    out = [Case(method, path, "anonymous", "401")]
    admitted = [r for r in ROLES if r == ADMIN or r in rule.admits]
    if rule.admits:
        # a regulator holds no objects: "another tenant's regulator" is the regulator case itself
        out += [Case(method, path, f"other {r}", rule.other) for r in sorted(rule.admits - {REG})]
    else:
        out.append(Case(method, path, f"other {FWD}", "403"))
    out += [Case(method, path, r, "403") for r in ROLES if r not in admitted]
    for r in sorted(admitted, key=lambda r: r == ADMIN):
        sees = rule.sees is None or r == ADMIN or r in rule.sees
        out.append(Case(method, path, r, "ok" if sees else "404"))
    return [c for c in out if (c.method, c.path, c.who) not in LEFT_OUT]


def call(t: Tenants, case: Case) -> tuple[int, str, str]:
    """Make the case's request; returns the status, the answer (a stream's first line) and what was sent."""
    ids = {**t.ids, "seller_id": t.w.seller_id}
    ids |= {name: ids[key] for name, key in PATH_IDS.get((case.method, case.path), {}).items()}
    url = case.path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in case.path})
    params = {k: v.format(**ids) for k, v in QUERIES.get((case.method, case.path), {}).items()}
    if case.who == "anonymous":
        headers: dict[str, str] = {}
    elif case.who.startswith("other "):
        headers = t.others[case.who.removeprefix("other ")]
    else:
        headers = t.keys[case.who]
    body = request_body(t, case.method, case.path)
    sent = f"{url} {params} {json.dumps(body)}"
    client = t.w.client
    if case.path == "/v1/stream":
        with client.stream("GET", url, headers=headers) as r:
            first = next(r.iter_lines(), "") if r.status_code == 200 else r.read().decode()
            return r.status_code, first, sent
    r = client.request(case.method, url, headers=headers, params=params, json=body)
    return r.status_code, r.text, sent


def openapi_routes(client: TestClient) -> set[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}


def test_the_table_lists_every_route_of_the_openapi(client: TestClient) -> None:
    routes = openapi_routes(client)
    assert sorted(routes - ROUTES.keys()) == [], "routes without a row in ROUTES: add one"
    assert sorted(ROUTES.keys() - routes) == [], "rows of ROUTES that are no route"


def test_every_route_answers_every_role_as_the_table_says(world: World, keys: Keys) -> None:
    t = make_tenants(world, keys)
    routes = openapi_routes(world.client)
    wrong: list[str] = []
    made = 0
    for method, path in sorted(routes & ROUTES.keys(), key=lambda mp: (mp[1], mp[0])):
        for case in cases_of(method, path, ROUTES[(method, path)]):
            status, text, sent = call(t, case)
            made += 1
            rule = ROUTES[(method, path)]
            watched = case.who.startswith("other ") or (case.who == REG and not rule.shared)
            seen = _traces(t, text, sent) if watched else ""
            if status not in EXPECTED[case.expected] or seen:
                wrong.append(
                    f"{case.method} {case.path} as {case.who}: expected {case.expected}, got {status}"
                    f"{' showing ' + seen if seen else ''}: {text[:200]}"
                )
    print(f"authorization matrix: {made} requests over {len(routes)} routes", *wrong, sep="\n")
    assert wrong == []
    assert made >= 5 * len(routes)


def _traces(t: Tenants, text: str, sent: str) -> str:
    """Tenant A's identifiers in an answer to another tenant, other than those its own request named."""
    return ", ".join(sorted(m for m in t.markers if m in text and m not in sent))
