"""Statistics and shared-event queries on PostgreSQL at pilot-zone scale, beside a bare count of a table.

Generates (with generate_series, in the database) 200,000 shipments with their fact rows and two ACT
milestones each, 30 forwarders, and 2,000,000 ledger lines (1,000,000 movements of 20 sellers, 200 SKUs, 8
warehouses, over 12 months) with the monthly summary built from them by the migration's query; then times
every statistics query the API runs (the same functions, in a READ ONLY transaction like the API's) and a
page of DCSA events, each N times, and prints p50 / p95 beside the baseline `SELECT count(*)` over the table
the query reads, measured in the same run. Target: every query under 300 ms at p95.

Run: `python bench/bench_stats.py` (full) or `--quick` (a tenth of the rows). Database: a scratch database
`xb_stats_bench` on the server of `XB_BENCH_DATABASE_URL` (default postgresql://postgres@127.0.0.1:5432/
xb_stats_bench), created and dropped by the bench (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api.migrate import upgrade  # noqa: E402
from kernel.db import Database, make_engine  # noqa: E402
from kernel.identity import Role  # noqa: E402
from logistics import dcsa_events  # noqa: E402
from logistics import stats as shipment_stats  # noqa: E402
from warehouse import stats as warehouse_stats  # noqa: E402
from warehouse.scope import Scope  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/xb_stats_bench"
GOAL_MS = 300.0
ITINERARY = (
    '{"legs": [], "co2e_kg": 0, "stops": ['
    '{"node_id": "CNYIB", "unlocode": "CNYIB", "name": "Yibin", "lat": 28.77, "lon": 104.63,'
    ' "role": "origin", "mode_in": null, "mode_out": "rail"},'
    '{"node_id": "DEDUI", "unlocode": "DEDUI", "name": "Duisburg", "lat": 51.43, "lon": 6.76,'
    ' "role": "destination", "mode_in": "rail", "mode_out": null}]}'
)


def generate(db: Database, shipments: int, lines: int) -> dict[str, float]:
    """Fill the scratch database; returns seconds per part."""
    took: dict[str, float] = {}
    movements = lines // 2
    with db.engine.begin() as c:
        t0 = time.monotonic()
        c.execute(
            text(
                "INSERT INTO tenants (id, name, kind, created_at)"
                " SELECT 'tf' || i, 'forwarder ' || i, 'forwarder', now() FROM generate_series(0, 29) i"
                " UNION ALL SELECT 'ts' || i, 'seller ' || i, 'seller', now() FROM generate_series(0, 19) i"
            )
        )
        c.execute(
            text(
                "INSERT INTO waybills (waybill_no, tenant_id, booking_id, kind, status, customs_mode, origin,"
                " destination, itinerary, cargo, alarms, created_at, updated_at)"
                " SELECT 'BS' || i, 'tf' || (i % 30), 'bk' || i, 'shipment',"
                "  (ARRAY['BOOKED','IN_TRANSIT','DELIVERED','DELIVERED','CANCELLED'])[1 + i % 5],"
                "  (ARRAY['9610','9710','9810','1210'])[1 + (i * 7) % 4], 'CNYIB', 'DEDUI',"
                "  CAST(:itin AS json), CAST('{}' AS json), CAST('[]' AS json),"
                "  timestamptz '2026-01-01' + (i % 365) * interval '1 day', now()"
                " FROM generate_series(1, :n) i"
            ),
            {"n": shipments, "itin": ITINERARY},
        )
        c.execute(
            text(
                "INSERT INTO shipment_facts (waybill_no, tenant_id, customs_mode, corridor, origin,"
                " destination_country, booked_at, month, booked_arrival, status, teu, gross_kg, co2e_kg,"
                " parcels, declared_value, declared_currency, departed_at, arrived_at, replans)"
                " SELECT waybill_no, tenant_id, customs_mode,"
                "  (ARRAY['china-europe-rail','yangtze-sea','western-land-sea','air','china-laos-rail'])"
                "   [1 + (n * 13) % 5],"
                "  (ARRAY['CNYIB','CNCTU','CNCKG'])[1 + (n * 3) % 3],"
                "  (ARRAY['DE','PL','HU','NL','VN','LA','KZ','RU'])[1 + (n * 11) % 8],"
                "  created_at, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM'),"
                "  created_at + (14 + n % 30) * interval '1 day', status,"
                "  (n % 4) * 0.5 + 0.1, 500 + (n * 37) % 20000, 100 + (n * 53) % 9000, 0, NULL, NULL,"
                "  CASE WHEN status IN ('IN_TRANSIT','DELIVERED') THEN created_at + interval '2 day' END,"
                "  CASE WHEN status = 'DELIVERED'"
                "   THEN created_at + (12 + (n * 17) % 40) * interval '1 day' END,"
                "  (n % 23 = 0)::int"
                " FROM (SELECT *, CAST(substr(waybill_no, 3) AS integer) AS n FROM waybills"
                "       WHERE waybill_no LIKE 'BS%') w"
            )
        )
        c.execute(
            text(
                "INSERT INTO waybill_events (waybill_no, kind, code, classifier, node_id, event_time,"
                " recorded_time, inferred)"
                " SELECT f.waybill_no, 'milestone', e.code, 'ACT', e.node,"
                "  f.departed_at + e.off, f.departed_at + e.off, false"
                " FROM shipment_facts f"
                " CROSS JOIN (VALUES ('DEPA', 'CNYIB', interval '0'), ('ARRI', 'DEDUI', interval '12 day'))"
                "  AS e(code, node, off)"
                " WHERE f.departed_at IS NOT NULL"
            )
        )
        took["shipments, facts and events"] = time.monotonic() - t0
        t0 = time.monotonic()
        c.execute(
            text(
                "INSERT INTO wh_warehouses (code, name, country, lat, lon, created_at)"
                " SELECT 'BW' || i, 'bench ' || i, 'DE', 51.0, 7.0, now() FROM generate_series(0, 7) i"
            )
        )
        c.execute(
            text(
                "INSERT INTO wh_skus (id, seller_id, sku, name, weight_kg, volume_m3, lot_tracked,"
                " dangerous_goods, unit_value, created_at)"
                " SELECT 'sk' || i, 'ts' || (i % 20), 'SKU' || i, 'sku ' || i, 1, 0.001, false, false,"
                "  5 + i % 40, now() FROM generate_series(0, 199) i"
            )
        )
        # one inbound notice per SKU and warehouse, naming a shipment (its customs mode: the stock's origin)
        c.execute(
            text(
                "INSERT INTO wh_inbound (id, seller_id, warehouse, waybill_no, status, created_at)"
                " SELECT 'in' || s || '_' || w, 'ts' || (s % 20), 'BW' || w, 'BS' || (1 + s * 8 + w),"
                "  'RECEIVED', now() FROM generate_series(0, 199) s, generate_series(0, 7) w"
            )
        )
        c.execute(
            text(
                "INSERT INTO wh_inbound_lines (inbound_id, sku, qty_expected, qty_received)"
                " SELECT 'in' || s || '_' || w, 'SKU' || s, 100, 100"
                " FROM generate_series(0, 199) s, generate_series(0, 7) w"
            )
        )
        # movements: 60 % orders shipped, 30 % receipts, 10 % returns; each one line at a warehouse and
        # its opposite at the outside world
        c.execute(
            text(
                "INSERT INTO wh_movements (id, seller_id, kind, reference, created_at)"
                " SELECT 'mv' || i, 'ts' || ((i / 8) % 200 % 20),"
                "  CASE WHEN i % 10 < 6 THEN 'order_shipped' WHEN i % 10 < 9 THEN 'receipt'"
                "   ELSE 'return_received' END, 'ref' || i,"
                "  timestamptz '2026-01-01' + (i % 360) * interval '1 day'"
                " FROM generate_series(1, :n) i"
            ),
            {"n": movements},
        )
        c.execute(
            text(
                "INSERT INTO wh_ledger (movement_id, seller_id, warehouse, zone, sku, lot, qty)"
                " SELECT m.id, m.seller_id, x.warehouse, x.zone, 'SKU' || ((n / 8) % 200), '', x.sign * q"
                " FROM (SELECT id, seller_id, kind, CAST(substr(id, 3) AS integer) AS n,"
                "        CASE WHEN kind = 'order_shipped' THEN -1 ELSE 1 END"
                "         * (CASE WHEN kind = 'receipt' THEN 20"
                "             ELSE 1 + CAST(substr(id, 3) AS integer) % 3 END)"
                "         AS q FROM wh_movements WHERE id LIKE 'mv%') m"
                " CROSS JOIN LATERAL (VALUES ('BW' || (m.n % 8), 'pick', 1), (NULL, 'customer', -1))"
                "  AS x(warehouse, zone, sign)"
            )
        )
        took["ledger"] = time.monotonic() - t0
        t0 = time.monotonic()
        c.execute(
            text(
                "INSERT INTO wh_stock_monthly (seller_id, warehouse, sku, month, kind, qty)"
                " SELECT l.seller_id, l.warehouse, l.sku,"
                "  to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),"
                "  m.kind, SUM(l.qty) FROM wh_ledger l JOIN wh_movements m ON m.id = l.movement_id"
                " WHERE l.warehouse IS NOT NULL AND l.zone <> 'transit'"
                " GROUP BY l.seller_id, l.warehouse, l.sku,"
                "  to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),"
                "  m.kind"
            )
        )
        took["monthly summary rebuilt from the ledger"] = time.monotonic() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
    return took


def timed(db: Database, fn: Callable[[Any], Any], runs: int) -> tuple[float, float]:
    """p50 and p95 in ms of `fn(session)`, each in its own read-only transaction, after one warm-up."""
    samples = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        with db.read_session() as s:
            fn(s)
        if i:
            samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[math.ceil(0.95 * len(samples)) - 1]  # nearest rank


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20,000 shipments and 200,000 ledger lines")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()
    shipments, lines = (20_000, 200_000) if args.quick else (200_000, 2_000_000)
    runs = args.runs or (10 if args.quick else 30)
    url = make_url(os.environ.get("XB_BENCH_DATABASE_URL", DEFAULT_URL)).set(database="xb_stats_bench")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS xb_stats_bench"))
            c.execute(text("CREATE DATABASE xb_stats_bench"))
    except Exception as exc:  # noqa: BLE001 - no server: say so and skip, as the other benches do
        print(f"bench_stats: needs PostgreSQL ({exc.__class__.__name__}); skipped")
        return 0
    db = Database(make_engine(url.render_as_string(hide_password=False)))
    try:
        upgrade(url.render_as_string(hide_password=False))
        t0 = time.monotonic()
        took = generate(db, shipments, lines)
        print(
            f"generated {shipments:,} shipments and {lines:,} ledger lines in {time.monotonic() - t0:.1f} s"
        )
        for part, s in took.items():
            print(f"  {part}: {s:.1f} s")
        rates = shipment_stats.ExchangeRates.load()
        everyone = shipment_stats.Visibility()
        regulator = shipment_stats.Visibility(min_tenants=3)
        one = shipment_stats.Visibility(tenant_id="tf7")
        quarter = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
        q = shipment_stats.ShipmentStatsQuery
        wq = warehouse_stats.FlowQuery
        admin_scope = Scope("tn_platform", Role.ADMIN)
        reg_scope = Scope("tn_reg", Role.REGULATOR)
        seller_scope = Scope("ts3", Role.SELLER)
        now = datetime(2027, 1, 1, tzinfo=UTC)

        def flows(query: Any, scope: Scope, min_sellers: int = 1) -> Callable[[Any], Any]:
            def run(s: Any) -> Any:
                origins: dict[tuple[str, str, str], str] = {}
                if "customs_mode" in query.keys:
                    pairs = warehouse_stats.sku_waybills(s, scope)
                    origins = warehouse_stats.origin_modes(
                        pairs, shipment_stats.customs_modes(s, [p[3] for p in pairs])
                    )
                return warehouse_stats.warehouse_flows(s, query, scope, origins, min_sellers, now)

            return run

        def count(table: str) -> Callable[[Any], Any]:
            return lambda s: s.execute(text(f"SELECT count(*) FROM {table}")).scalar()

        cases: list[tuple[str, Callable[[Any], Any]]] = [
            ("baseline: SELECT count(*) FROM shipment_facts", count("shipment_facts")),
            ("shipments, totals (admin)", lambda s: shipment_stats.shipment_stats(s, q(), everyone, rates)),
            (
                "shipments by mode, corridor (admin)",
                lambda s: shipment_stats.shipment_stats(s, q(("customs_mode", "corridor")), everyone, rates),
            ),
            (
                "shipments by all five keys (admin)",
                lambda s: shipment_stats.shipment_stats(s, q(shipment_stats.GROUP_KEYS), everyone, rates),
            ),
            (
                "shipments by mode, corridor, last quarter (regulator, min 3)",
                lambda s: shipment_stats.shipment_stats(
                    s, q(("customs_mode", "corridor"), *quarter), regulator, rates
                ),
            ),
            (
                "shipments by mode, destination, month (regulator, min 3)",
                lambda s: shipment_stats.shipment_stats(
                    s, q(("customs_mode", "destination_country", "month")), regulator, rates
                ),
            ),
            (
                "shipments by mode, corridor, last quarter (one forwarder)",
                lambda s: shipment_stats.shipment_stats(
                    s, q(("customs_mode", "corridor"), *quarter), one, rates
                ),
            ),
            ("baseline: SELECT count(*) FROM wh_ledger", count("wh_ledger")),
            ("warehouses by warehouse, month (admin)", flows(wq(("warehouse", "month")), admin_scope)),
            (
                "warehouses by all four keys (admin)",
                flows(wq(warehouse_stats.GROUP_KEYS), admin_scope),
            ),
            ("warehouses by customs mode: 9810 sales (admin)", flows(wq(("customs_mode",)), admin_scope)),
            (
                "warehouses by warehouse, mode, last quarter (regulator)",
                flows(wq(("warehouse", "customs_mode"), *quarter), reg_scope, 3),
            ),
            ("warehouses by mode, month (one seller)", flows(wq(("customs_mode", "month")), seller_scope)),
            ("baseline: SELECT count(*) FROM waybill_events", count("waybill_events")),
            (
                "DCSA events, first page of 100 (regulator)",
                lambda s: dcsa_events.list_events(s, None, None, dcsa_events.Cursor(0, 100)),
            ),
            (
                "DCSA events, a page of 100 deep in the list (one forwarder)",
                lambda s: dcsa_events.list_events(s, "tf7", None, dcsa_events.Cursor(300_000, 100)),
            ),
        ]
        print(f"{'query':<64} {'p50 ms':>8} {'p95 ms':>8}  ({runs} runs each)")
        worst = 0.0
        for name, fn in cases:
            p50, p95 = timed(db, fn, runs)
            if not name.startswith("baseline"):
                worst = max(worst, p95)
            print(f"{name:<64} {p50:8.1f} {p95:8.1f}", flush=True)
        verdict = "meets" if worst < GOAL_MS else "MISSES"
        print(f"slowest statistics query p95 {worst:.1f} ms: {verdict} the {GOAL_MS:.0f} ms target")
    finally:
        db.engine.dispose()
        if not args.keep:
            with admin.connect() as c:
                c.execute(text("DROP DATABASE IF EXISTS xb_stats_bench"))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
