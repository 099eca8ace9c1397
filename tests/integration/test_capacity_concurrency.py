"""The last slot on a departure goes to exactly one of many parallel bookings (PostgreSQL, processes)."""

from __future__ import annotations

import multiprocessing as mp
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from kernel.db import Database, make_engine
from kernel.errors import Conflict
from kernel.identity import Principal, Role
from logistics import quoting
from logistics.network_state import NetworkState
from logistics.tables import departure_loads
from tests.conftest import Keys

pytestmark = pytest.mark.postgres
NOW = datetime(2027, 3, 1, tzinfo=UTC)


def _book(
    url: str,
    principal: Principal,
    quote_id: str,
    option_id: str,
    start: mp.synchronize.Event,
    out: mp.Queue[tuple[str, str]],
) -> None:
    db = Database(make_engine(url, pool_size=1))
    state = NetworkState()
    state.timetable(NOW)
    start.wait(30)
    try:
        with db.session() as s:
            booked = quoting.book_shipment(
                s, state, principal, quoting.BookShipment(quote_id, option_id), NOW
            )
        out.put(("ok", booked.waybill_no))
    except Conflict as exc:
        out.put(("conflict", exc.detail))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put(("error", repr(exc)))
    finally:
        db.engine.dispose()


def test_parallel_bookings_of_the_last_slot_give_exactly_one_success(database: Database, keys: Keys) -> None:
    url = os.environ["XB_TEST_DATABASE_URL"]
    tenant = keys.tenant(kind=__import__("kernel.identity", fromlist=["TenantKind"]).TenantKind.FORWARDER)
    principal = Principal(key_id="k", tenant_id=tenant, role=Role.FORWARDER)
    state = NetworkState()
    cmd = quoting.RequestQuote("CNYIB", "PLLOD", NOW, None, 12000, 60, "40HC", False, None, "9810", 8)
    with database.session() as s:
        quote = quoting.quote(s, state, principal, cmd, NOW)
    option = next(o for o in quote.options if any(leg["departure_id"] for leg in o["legs"]))
    # Book once so every departure of the option has a load row; then leave room for one more on the main one.
    with database.session() as s:
        quoting.book_shipment(s, state, principal, quoting.BookShipment(quote.id, option["id"]), NOW)
    main = max((leg for leg in option["legs"] if leg["departure_id"]), key=lambda leg: leg["distance_km"])
    with database.session() as s:
        s.execute(
            update(departure_loads)
            .where(departure_loads.c.departure_id == main["departure_id"])
            .values(capacity_teu=departure_loads.c.booked_teu + 2.0)
        )
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_book, args=(url, principal, quote.id, option["id"], start, out)) for _ in range(6)
    ]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    outcomes = [r[0] for r in results]
    assert outcomes.count("ok") == 1, results
    assert outcomes.count("conflict") == 5, results
    with database.session() as s:
        row = (
            s.execute(departure_loads.select().where(departure_loads.c.departure_id == main["departure_id"]))
            .mappings()
            .one()
        )
    assert row["booked_teu"] == row["capacity_teu"]
