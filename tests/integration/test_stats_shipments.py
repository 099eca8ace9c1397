"""Shipment statistics: equal to a brute-force recount from the raw waybills and their event logs (generated
histories, SQLite and PostgreSQL), CSV equal to JSON, and the regulator's suppression of small groups."""

from __future__ import annotations

import csv
import io
import math
import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from api.container import Container
from kernel.identity import Role, TenantKind, create_tenant
from logistics import events, shipment_facts
from logistics import stats as shipment_stats
from logistics.tables import shipment_facts as facts_table
from logistics.tables import waybill_events, waybills
from tests.conftest import Keys

MODES = ("9610", "9710", "9810", "1210")
CORRIDORS = ("china-europe-rail", "yangtze-sea", "air")
DESTS = ("DEDUI", "PLMAL", "HUBUD")
BASE = datetime(2027, 1, 1, tzinfo=UTC)

shipment = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(MODES),
        "corridor": st.sampled_from(CORRIDORS),
        "dest": st.sampled_from(DESTS),
        "booked_day": st.integers(0, 120),
        "teu": st.sampled_from([0.1, 1.0, 2.0, 2.25]),
        "kg": st.integers(1, 30_000),
        "co2e": st.integers(0, 9_000),
        "transit_h": st.integers(24, 60 * 24),
        "late_h": st.integers(-72, 200),
        # what happened: open (no ACT), departed, arrived (ACT ARRI), delivered (status), cancelled
        "fate": st.sampled_from(["open", "departed", "arrived", "delivered", "cancelled"]),
        "replans": st.integers(0, 2),
    }
)


def _insert(session: Any, tenant: str, s: dict[str, Any], recorded: datetime) -> str:
    """A shipment's raw facts as the booking and the tracking write them: the waybill row and its log."""
    no = "ST" + secrets.token_hex(6).upper()
    booked = BASE + timedelta(days=s["booked_day"], hours=5)
    dep = booked + timedelta(days=2)
    promised = dep + timedelta(hours=s["transit_h"])
    final_arrival = promised + timedelta(hours=3 * s["replans"])  # each re-plan moves the arrival on
    itinerary = {
        "legs": [
            {
                "mode": "road",
                "corridor": None,
                "departure": "2027-01-01T00:00:00Z",
                "arrival": "2027-01-09T00:00Z",
            },
            {
                "mode": "rail",
                "corridor": s["corridor"],
                "departure": dep.isoformat(),
                "arrival": final_arrival.isoformat(),
            },
        ],
        "stops": [{"unlocode": "CNYIB"}, {"unlocode": s["dest"]}],
        "co2e_kg": s["co2e"],
    }
    status = {"open": "BOOKED", "departed": "IN_TRANSIT", "arrived": "ARRIVED", "delivered": "DELIVERED"}.get(
        s["fate"], "CANCELLED"
    )
    session.execute(
        waybills.insert().values(
            waybill_no=no,
            tenant_id=tenant,
            booking_id="bk_" + no,
            kind="shipment",
            status=status,
            customs_mode=s["mode"],
            origin="CNYIB",
            destination=s["dest"],
            itinerary=itinerary,
            cargo={"teu": s["teu"], "weight_kg": s["kg"]},
            planned_arrival=final_arrival,
            eta=final_arrival,
            alarms=[],
            created_at=booked,
            updated_at=booked,
        )
    )

    def log(
        kind: str, code: str, at: datetime, classifier: str | None = None, node: str | None = None
    ) -> int:
        return events.append(
            session,
            no,
            kind=kind,
            code=code,
            event_time=at,
            recorded_time=recorded,
            classifier=classifier,
            node_id=node,
        )

    log("milestone", "ARRI", promised, "PLN", s["dest"])
    for i in range(s["replans"]):
        session.execute(
            waybill_events.update()
            .where(waybill_events.c.waybill_no == no, waybill_events.c.superseded_by.is_(None))
            .where(waybill_events.c.classifier == "PLN")
            .values(superseded_by=-3)
        )
        log("milestone", "ARRI", promised + timedelta(hours=3 * (i + 1)), "PLN", s["dest"])
        log("plan", "REPLANNED", booked + timedelta(hours=i + 1))
    log("status", "BOOKED", booked)
    if s["fate"] == "cancelled":
        log("status", "CANCELLED", booked + timedelta(hours=1))
    if s["fate"] in ("departed", "arrived", "delivered"):
        log("milestone", "DEPA", dep, "ACT", "CNYIB")
    actual = promised + timedelta(hours=s["late_h"])
    if s["fate"] == "arrived":
        log("milestone", "ARRI", actual, "ACT", s["dest"])
        log("milestone", "ARRI", actual - timedelta(days=1), "ACT", "PLWAW")  # a hub on the way: not arrival
    if s["fate"] == "delivered":
        log("status", "DELIVERED", actual)
    shipment_facts.refresh(session, [no])
    return no


def recount(session: Any, tenant: str, keys: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The figures per group counted by brute force from the waybills and their whole event logs."""
    rows = session.execute(select(waybills).where(waybills.c.tenant_id == tenant)).mappings().all()
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for w in rows:
        log = (
            session.execute(select(waybill_events).where(waybill_events.c.waybill_no == w["waybill_no"]))
            .mappings()
            .all()
        )
        live = [e for e in log if e["superseded_by"] is None]
        pln = sorted(
            (e["id"], e["event_time"]) for e in log if e["classifier"] == "PLN" and e["code"] == "ARRI"
        )
        deps = [e["event_time"] for e in live if e["classifier"] == "ACT" and e["code"] in ("GTOT", "DEPA")]
        arrs = [
            e["event_time"]
            for e in live
            if (e["classifier"] == "ACT" and e["code"] == "ARRI" and e["node_id"] == w["destination"])
            or (e["kind"] == "status" and e["code"] in ("ARRIVED", "DELIVERED"))
        ]
        legs = [leg for leg in w["itinerary"]["legs"] if leg["mode"] != "road"]
        one = {
            "customs_mode": w["customs_mode"],
            "corridor": legs[0]["corridor"],
            "origin": w["origin"],
            "destination_country": w["destination"][:2],
            "month": w["created_at"].strftime("%Y-%m"),
            "cancelled": w["status"] == "CANCELLED",
            "teu": w["cargo"]["teu"],
            "kg": w["cargo"]["weight_kg"],
            "co2e": w["itinerary"]["co2e_kg"],
            "promised": pln[0][1],
            "departed": min(deps) if deps else None,
            "arrived": min(arrs) if arrs else None,
            "replanned": any(e["code"] == "REPLANNED" for e in live),
        }
        groups[tuple(one[k] for k in keys)].append(one)
    out = {}
    for key, items in groups.items():
        live_items = [i for i in items if not i["cancelled"]]
        arrived = [i for i in live_items if i["arrived"] is not None]
        days = sorted(  # rounded half up to 0.01 day, as the figures show them, from exact seconds
            (Decimal(int((i["arrived"] - i["departed"]).total_seconds())) / 86400).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
            for i in arrived
            if i["departed"] is not None
        )
        on_time = sum(1 for i in arrived if i["arrived"] <= i["promised"])

        def rank(p: float, days: list[Decimal] = days) -> float | None:
            return float(days[max(1, math.ceil(p * len(days))) - 1]) if days else None

        out[key] = {
            "shipments": len(live_items),
            "cancelled": len(items) - len(live_items),
            "teu": round(sum(i["teu"] for i in live_items), 3),
            "gross_kg": round(float(sum(i["kg"] for i in live_items)), 3),
            "co2e_kg": round(float(sum(i["co2e"] for i in live_items)), 3),
            "arrived": len(arrived),
            "on_time": on_time,
            "open": len(live_items) - len(arrived),
            "on_time_rate": round(on_time / len(arrived), 4) if arrived else None,
            "transit_days_p50": rank(0.5),
            "transit_days_p90": rank(0.9),
            "replanned": sum(1 for i in live_items if i["replanned"]),
            "parcels": 0,
            "declared_value_cny": None,
        }
    return out


GROUPINGS = st.lists(st.sampled_from(shipment_stats.GROUP_KEYS), unique=True, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(shipment, min_size=1, max_size=12), GROUPINGS)
def test_statistics_equal_a_recount_from_the_raw_facts(container: Container, generated, group_by) -> None:
    db, now = container.db, container.clock.now()
    with db.session() as s:
        tenant = str(create_tenant(s, "gen forwarder", TenantKind.FORWARDER, now)["id"])
        for item in generated:
            _insert(s, tenant, item, now)
    q = shipment_stats.ShipmentStatsQuery(tuple(group_by))
    rates = shipment_stats.ExchangeRates.load()
    with db.read_session() as s:
        found = shipment_stats.shipment_stats(s, q, shipment_stats.Visibility(tenant_id=tenant), rates)
        expected = recount(s, tenant, q.keys)
    got = {tuple(r[k] for k in q.keys): r for r in found.rows}
    assert set(got) == set(expected)
    for key, want in expected.items():
        assert {k: got[key][k] for k in want} == want, key
    assert found.totals["shipments"] == sum(w["shipments"] for w in expected.values())


def facts_of(container: Container, nos: list[str]) -> list[dict[str, Any]]:
    with container.db.read_session() as s:
        stmt = select(facts_table).where(facts_table.c.waybill_no.in_(nos)).order_by(facts_table.c.waybill_no)
        return [dict(r) for r in s.execute(stmt).mappings()]


def test_the_fact_rows_booking_and_cancelling_keep_are_the_raw_facts_recomputed(
    client: TestClient, keys: Keys, container
) -> None:
    """Booking and cancelling keep their fact rows in their transactions: recomputing them from the waybills
    and their logs changes nothing."""
    fwd = keys.headers(Role.FORWARDER)
    kept = _book(client, fwd, "9610")
    doomed = _book(client, fwd, "9810")
    assert client.post(f"/v1/bookings/{doomed['id']}/cancel", headers=fwd).status_code == 200
    nos = [kept["waybill_no"], doomed["waybill_no"]]
    before = facts_of(container, nos)
    assert {f["waybill_no"]: f["status"] for f in before} == {nos[0]: "BOOKED", nos[1]: "CANCELLED"}
    with container.db.session() as s:
        shipment_facts.refresh(s, nos)
    assert facts_of(container, nos) == before


def _book(client: TestClient, fwd: dict[str, str], mode: str, destination: str = "DEDUI") -> dict[str, Any]:
    quote = client.post(
        "/v1/quotes",
        headers=fwd,
        json={
            "origin": "CNYIB",
            "destination": destination,
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 900, "volume_m3": 3, "equipment": "LCL"},
            "customs_mode": mode,
            "max_options": 1,
        },
    ).json()
    r = client.post(
        "/v1/bookings", headers=fwd, json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"]}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_a_forwarder_sees_its_own_bookings_and_csv_equals_json(client: TestClient, keys: Keys) -> None:
    fwd = keys.headers(Role.FORWARDER)
    for mode in ("9610", "9810", "9810"):
        _book(client, fwd, mode)
    r = client.get("/v1/stats/shipments?group_by=customs_mode,corridor", headers=fwd)
    assert r.status_code == 200, r.text
    body = r.json()
    by_mode: dict[str, int] = defaultdict(int)
    for row in body["rows"]:
        by_mode[row["customs_mode"]] += row["shipments"]
        assert row["open"] == row["shipments"] and row["on_time_rate"] is None
        assert row["parcels"] == 0 and row["declared_value_cny"] is None
    assert dict(by_mode) == {"9610": 1, "9810": 2}
    assert body["totals"]["shipments"] == 3 and body["totals"]["gross_kg"] == 2700.0
    # the same rows as CSV, by ?format=csv and by Accept: text/csv
    for extra, params in (({}, "&format=csv"), ({"Accept": "text/csv"}, "")):
        c = client.get(
            f"/v1/stats/shipments?group_by=customs_mode,corridor{params}", headers={**fwd, **extra}
        )
        assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(c.text)))
        assert len(table) == len(body["rows"])
        for line, row in zip(table, body["rows"], strict=True):
            assert list(line)[:2] == ["customs_mode", "corridor"]
            assert line == {k: "" if row[k] is None else str(row[k]) for k in line}
    # cancelling leaves the shipment out and counts it apart
    booking = _book(client, fwd, "9610")
    assert client.post(f"/v1/bookings/{booking['id']}/cancel", headers=fwd).status_code == 200
    totals = client.get("/v1/stats/shipments", headers=fwd).json()["totals"]
    assert totals["shipments"] == 3 and totals["cancelled"] == 1
    # bad keys and windows are problems
    assert client.get("/v1/stats/shipments?group_by=tenant", headers=fwd).status_code == 422
    assert client.get("/v1/stats/shipments?from=2027-02-01&to=2027-01-01", headers=fwd).status_code == 422


def test_the_regulator_sees_only_groups_of_enough_tenants(client: TestClient, keys: Keys, container) -> None:
    """Three forwarders book under mode 1210 to Budapest (a group of three tenants); one of them alone also
    books 9710: the regulator sees the first group and not the second, and the totals leave it out too."""
    tag = secrets.token_hex(2)
    fwds = [
        keys.headers(Role.FORWARDER, keys.tenant(TenantKind.FORWARDER, f"reg {tag} {i}")) for i in range(3)
    ]
    for f in fwds:
        _book(client, f, "1210", "HUBUD")
    _book(client, fwds[0], "9710", "HUBUD")
    regulator = keys.headers(Role.REGULATOR, keys.tenant(TenantKind.REGULATOR, "Yibin zone administration"))
    admin = keys.headers(Role.ADMIN)
    window = "from=2027-03-01T00:00:00Z&to=2027-03-02T00:00:00Z&group_by=customs_mode,destination_country"
    seen = client.get(f"/v1/stats/shipments?{window}", headers=regulator).json()
    full = client.get(f"/v1/stats/shipments?{window}", headers=admin).json()
    with container.db.read_session() as s:
        tenants_per_group: dict[tuple[str, str], set[str]] = defaultdict(set)
        for mode, country, tenant in s.execute(
            select(
                facts_table.c.customs_mode, facts_table.c.destination_country, facts_table.c.tenant_id
            ).where(
                facts_table.c.booked_at >= datetime(2027, 3, 1, tzinfo=UTC),
                facts_table.c.booked_at < datetime(2027, 3, 2, tzinfo=UTC),
            )
        ):
            tenants_per_group[(mode, country)].add(tenant)
    shown = {(r["customs_mode"], r["destination_country"]) for r in seen["rows"]}
    everything = {(r["customs_mode"], r["destination_country"]) for r in full["rows"]}
    assert ("1210", "HU") in shown
    assert shown == {g for g in everything if len(tenants_per_group[g]) >= 3}
    assert seen["suppressed_groups"] == len(everything - shown)
    assert seen["totals"]["shipments"] == sum(r["shipments"] for r in seen["rows"])
    if len(tenants_per_group[("9710", "HU")]) < 3:
        assert ("9710", "HU") not in shown
