"""Overseas-warehouse statistics: equal to a brute-force recount of the ledger after generated receipts,
orders and returns (SQLite and PostgreSQL), 9810 exports tied to their sales, CSV equal to JSON, and the
regulator's suppression of groups with few sellers."""

from __future__ import annotations

import csv
import io
import secrets
from collections import defaultdict
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kernel.identity import Role, TenantKind
from logistics.tables import waybills
from tests.integration.warehouse.conftest import World
from warehouse import tables as t

step = st.one_of(
    st.tuples(
        st.just("receive"),
        st.sampled_from(["de", "pl"]),
        st.integers(0, 2),
        st.integers(1, 40),
        st.sampled_from(["9810", "9610", None]),
    ),
    st.tuples(st.just("sell"), st.integers(0, 2), st.integers(1, 5), st.booleans()),
    st.tuples(st.just("wait"), st.integers(5, 40)),
)


def _waybill(w: World, mode: str) -> str:
    """A shipment of the given customs mode, as the logistics side stores it (only its mode matters here)."""
    no = "WS" + secrets.token_hex(5).upper()
    now = w.container.clock.now()
    with w.container.db.session() as s:
        tenant = s.execute(select(func.min(t.skus.c.seller_id))).scalar_one()
        s.execute(
            waybills.insert().values(
                waybill_no=no,
                tenant_id=tenant,
                kind="inbound",
                status="DELIVERED",
                customs_mode=mode,
                origin="CNYIB",
                destination="DEDUI",
                itinerary={},
                cargo={},
                alarms=[],
                created_at=now,
                updated_at=now,
            )
        )
    return no


def _run(w: World, skus: list[str], steps: list[tuple[Any, ...]]) -> None:
    for op in steps:
        if op[0] == "receive":
            _, wh, i, qty, mode = op
            w.stock(wh, [{"sku": skus[i], "qty": qty}], _waybill(w, mode) if mode else None)
        elif op[0] == "sell":
            _, i, qty, comes_back = op
            r = w.post(
                "/v1/orders",
                {
                    "order_ref": secrets.token_hex(4),
                    "ship_to": {"country": "DE"},
                    "lines": [{"sku": skus[i], "qty": qty}],
                },
            )
            if r.status_code == 409:  # not enough stock: nothing happened
                continue
            assert r.status_code == 201, r.text
            order = r.json()
            assert w.post(f"/v1/orders/{order['id']}/ship", {}, w.operator).status_code == 200
            if comes_back:
                rma = w.post(
                    "/v1/returns",
                    {"order_id": order["id"], "lines": [{"sku": skus[i], "qty": 1, "reason": "x"}]},
                ).json()
                wh = order["allocations"][0]["warehouse"]
                got = w.post(
                    f"/v1/returns/{rma['id']}/receipts",
                    {"warehouse": wh, "lines": [{"sku": skus[i], "qty": 1}]},
                    w.operator,
                )
                assert got.status_code in (200, 201), got.text
        else:
            w.container.clock.advance(timedelta(days=op[1]))  # type: ignore[attr-defined]


def recount(w: World) -> dict[tuple[str, str, str], dict[str, int]]:
    """(warehouse, customs mode, month) -> figures, from the raw ledger lines, their movements and the
    inbound notices' waybills, counted by brute force."""
    with w.container.db.read_session() as s:
        lines = s.execute(
            select(
                t.ledger.c.warehouse,
                t.ledger.c.zone,
                t.ledger.c.sku,
                t.ledger.c.qty,
                t.movements.c.kind,
                t.movements.c.created_at,
            )
            .join(t.movements, t.movements.c.id == t.ledger.c.movement_id)
            .where(t.ledger.c.seller_id == w.seller_id)
        ).all()
        brought = s.execute(
            select(t.inbound.c.warehouse, t.inbound_lines.c.sku, waybills.c.customs_mode)
            .join(t.inbound_lines, t.inbound_lines.c.inbound_id == t.inbound.c.id)
            .join(waybills, waybills.c.waybill_no == t.inbound.c.waybill_no)
            .where(t.inbound.c.seller_id == w.seller_id)
        ).all()
    modes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for wh, sku, mode in brought:
        modes[(wh, sku)].add(mode)
    out: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    stock: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for wh, zone, sku, qty, kind, at in lines:
        if wh is None or zone == "transit":
            continue
        m = modes.get((wh, sku), set())
        mode = next(iter(m)) if len(m) == 1 else ("mixed" if m else "none")
        key = (wh, mode, at.strftime("%Y-%m"))
        field = {
            "receipt": "received",
            "receipt_surplus": "received",
            "order_shipped": "sold",
            "return_received": "returned",
        }.get(kind)
        if field:
            out[key][field] += -qty if field == "sold" else qty
        stock[(wh, mode)][key[2]] += qty
        out[key]  # noqa: B018 - every month with a movement is a row
    for (wh, mode, month), fig in out.items():
        fig["on_hand"] = sum(q for mo, q in stock[(wh, mode)].items() if mo <= month)
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(step, min_size=1, max_size=10))
def test_warehouse_statistics_equal_a_recount_of_the_ledger(world: World, steps) -> None:
    tag = secrets.token_hex(2).upper()
    skus = [world.sku(f"HS{tag}{i}", unit_value=5 + i) for i in range(3)]
    _run(world, skus, steps)
    r = world.get("/v1/stats/warehouses?group_by=warehouse,customs_mode,month")
    assert r.status_code == 200, r.text
    got = {(row["warehouse"], row["customs_mode"], row["month"]): row for row in r.json()["rows"]}
    want = recount(world)
    assert set(got) == set(want)
    for key, fig in want.items():
        for k in ("received", "sold", "returned", "on_hand"):
            assert got[key][k] == fig.get(k, 0), (key, k)
    # the summary the statistics read is the ledger summed, row for row
    with world.container.db.read_session() as s:
        summary = {
            (r.warehouse, r.sku, r.month, r.kind): r.qty
            for r in s.execute(select(t.stock_monthly).where(t.stock_monthly.c.seller_id == world.seller_id))
        }
        ledger: dict[tuple[str, str, str, str], int] = defaultdict(int)
        for r in s.execute(
            select(
                t.ledger.c.warehouse,
                t.ledger.c.zone,
                t.ledger.c.sku,
                t.ledger.c.qty,
                t.movements.c.kind,
                t.movements.c.created_at,
            )
            .join(t.movements, t.movements.c.id == t.ledger.c.movement_id)
            .where(t.ledger.c.seller_id == world.seller_id, t.ledger.c.warehouse.is_not(None))
        ):
            if r.zone != "transit":
                ledger[(r.warehouse, r.sku, r.created_at.strftime("%Y-%m"), r.kind)] += r.qty
    assert summary == {k: v for k, v in ledger.items() if v != 0}
    world.check()


def test_9810_exports_are_tied_to_their_sales_and_csv_equals_json(world: World) -> None:
    world.sku("TEA9810", unit_value=12)
    world.sku("CUP9610", unit_value=3)
    world.stock("de", [{"sku": "TEA9810", "qty": 50}], _waybill(world, "9810"))
    world.stock("de", [{"sku": "CUP9610", "qty": 20}], _waybill(world, "9610"))
    _run(world, ["TEA9810", "CUP9610"], [("sell", 0, 7, True), ("sell", 1, 2, False)])
    r = world.get("/v1/stats/warehouses?group_by=customs_mode")
    rows = {row["customs_mode"]: row for row in r.json()["rows"]}
    assert rows["9810"]["received"] == 50 and rows["9810"]["received_value"] == "600.00"
    assert rows["9810"]["sold"] == 7 and rows["9810"]["returned"] == 1 and rows["9810"]["on_hand"] == 44
    assert rows["9610"]["sold"] == 2 and rows["9610"]["on_hand"] == 18
    c = world.get("/v1/stats/warehouses?group_by=customs_mode&format=csv")
    table = list(csv.DictReader(io.StringIO(c.text)))
    assert [line["customs_mode"] for line in table] == [row["customs_mode"] for row in r.json()["rows"]]
    for line, row in zip(table, r.json()["rows"], strict=True):
        assert line == {k: "" if row[k] is None else str(row[k]) for k in line}
    # another seller sees none of it; the answer without group_by keeps its shape
    assert world.get("/v1/stats/warehouses?group_by=customs_mode", world.other_seller).json()["rows"] == []
    assert isinstance(world.get("/v1/stats/warehouses").json(), list)


def test_the_regulator_sees_warehouse_groups_of_enough_sellers(world: World, keys) -> None:
    world.sku("REGTEA", unit_value=1)
    world.stock("pl", [{"sku": "REGTEA", "qty": 5}])
    regulator = keys.headers(Role.REGULATOR, keys.tenant(TenantKind.REGULATOR, "zone administration"))
    r = world.get("/v1/stats/warehouses?group_by=warehouse", regulator)
    assert r.status_code == 200, r.text
    shown = {row["warehouse"] for row in r.json()["rows"]}
    assert world.wh["pl"] not in shown  # one seller there: suppressed
    assert r.json()["suppressed_groups"] >= 1
    assert world.get("/v1/stats/warehouses?group_by=seller", regulator).json()["rows"] == []
    # three sellers at one warehouse make a group the regulator sees
    for i in range(3):
        seller_id = keys.tenant(TenantKind.SELLER, f"seller {i}")
        hdr = keys.headers(Role.SELLER, seller_id)
        assert (
            world.post(
                "/v1/skus", {"sku": "REGX", "name": "x", "weight_kg": 1, "volume_m3": 0.001}, hdr
            ).status_code
            == 201
        )
        asn = world.post(
            "/v1/inbound", {"warehouse": world.wh["nl"], "lines": [{"sku": "REGX", "qty": 2}]}, hdr
        ).json()
        got = world.post(
            f"/v1/inbound/{asn['id']}/receipts", {"lines": [{"sku": "REGX", "qty": 2}]}, world.operator
        )
        assert got.status_code == 201, got.text
    rows = world.get("/v1/stats/warehouses?group_by=warehouse", regulator).json()["rows"]
    nl = next(row for row in rows if row["warehouse"] == world.wh["nl"])
    assert nl["received"] == 6 and nl["on_hand"] == 6
