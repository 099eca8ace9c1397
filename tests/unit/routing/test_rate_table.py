"""The rate table: validation names every bad row and field; a quote is priced with the rows valid on its
date."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from routing.charges import breakdown
from routing.network import load_reference_network
from routing.network_model import Network
from routing.planner import plan
from routing.quote_request import Cargo, QuoteRequest
from routing.rate_table import DEFAULT_SOURCE, RateTableInvalid, parse, priced
from routing.tariff import leg_charge
from routing.timetable import expand

NET = load_reference_network()
LANE = "YIB-MAL-rail"


def row(**over: Any) -> dict[str, Any]:
    base = {
        "lane": LANE,
        "direction": "forward",
        "equipment": "ALL",
        "unit": "FEU",
        "amount": "5000",
        "currency": "USD",
        "valid_from": "2027-01-01",
        "valid_to": "2027-07-01",
        "baf_pct": "10",
        "peak_pct": "5",
        "basis": "published",
        "source": "test tariff",
    }
    return {**base, **over}


def errors_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with pytest.raises(RateTableInvalid) as exc:
        parse({"rows": rows}, NET)
    return exc.value.errors


def test_the_shipped_table_loads_and_has_a_row_with_a_source_per_service() -> None:
    raw = json.loads((Path(__file__).parents[3] / "routing" / "data" / "rates.json").read_text())
    table = parse(raw, NET)
    assert len(table.rows) == len(NET.services)
    assert all(r.source for r in table.rows)


def test_unknown_lane_negative_amount_and_bad_currency_are_named_by_row_and_field() -> None:
    errs = errors_of(
        [
            row(),
            row(lane="NOWHERE-rail"),
            row(valid_from="2028-01-01", valid_to=None, amount="-1", currency="EUR"),
        ]
    )
    assert {(e["row"], e["field"]) for e in errs} == {(1, "lane"), (2, "amount"), (2, "currency")}
    assert any("unknown lane 'NOWHERE-rail'" in e["message"] for e in errs)


def test_a_lane_with_no_reverse_service_is_refused_for_the_reverse_direction() -> None:
    one_way = next(
        s for s in NET.services.values() if f"{s.id}-rev" not in NET.services and not s.id.endswith("-rev")
    )
    errs = errors_of(
        [row(lane=one_way.id, direction="reverse", unit="kg" if one_way.mode == "air" else "FEU")]
    )
    assert [(e["row"], e["field"]) for e in errs] == [(0, "lane")]


def test_overlapping_validity_for_the_same_lane_direction_and_equipment_is_refused() -> None:
    errs = errors_of([row(), row(valid_from="2027-06-01", valid_to="2027-12-31")])
    assert [(e["row"], e["field"]) for e in errs] == [(1, "valid_from")]
    assert "overlaps row 0" in errs[0]["message"]
    # the same period in the other direction, or for one equipment beside ALL, is no overlap
    both_ways = "AKL-DOSTYK-rail"
    parse(
        {
            "rows": [
                row(lane=both_ways),
                row(lane=both_ways, direction="reverse"),
                row(equipment="40HC", unit="box"),
            ]
        },
        NET,
    )


def test_units_must_fit_the_mode_and_dates_the_calendar() -> None:
    errs = errors_of(
        [row(unit="kg"), row(valid_to="2026-01-01"), row(valid_from="2027-02-30"), row(unit="box")]
    )
    assert {(e["row"], e["field"]) for e in errs} == {
        (0, "unit"),
        (1, "valid_to"),
        (2, "valid_from"),
        (3, "unit"),
    }


def test_a_table_without_rows_is_refused() -> None:
    with pytest.raises(RateTableInvalid) as exc:
        parse({"lanes": []}, NET)
    assert exc.value.errors == [{"row": None, "field": "rows", "message": "the table needs a list 'rows'"}]


def _priced(rows: list[dict[str, Any]], when: datetime, equipment: str = "40HC") -> Network:
    return priced(parse({"rows": rows}, NET), NET, equipment, when, {})


def test_a_quote_is_priced_with_the_row_valid_on_its_date_and_falls_back_outside_it() -> None:
    inside = _priced([row()], datetime(2027, 3, 1, 6, tzinfo=UTC))
    rate = inside.services[LANE].rate
    assert (rate.per_feu, rate.baf, rate.peak) == (Decimal("5000"), Decimal("0.1"), Decimal("0.05"))
    cargo = Cargo(weight_kg=12000, volume_m3=60, equipment="40GP")
    # 40GP's rate factor is 1: freight 5000 plus 10 % BAF and 5 % peak season
    assert leg_charge(inside, inside.services[LANE], cargo, False).cost == Decimal("5750.00")
    after = _priced([row()], datetime(2027, 7, 1, 0, tzinfo=UTC))  # valid_to is exclusive
    assert after.services[LANE].rate.per_feu == NET.services[LANE].rate.per_feu
    assert after.services[LANE].rate.source == DEFAULT_SOURCE


def test_an_equipment_row_stands_over_the_all_row() -> None:
    rows = [row(), row(equipment="40HC", unit="box", amount="6100", baf_pct="0", peak_pct="0")]
    net = _priced(rows, datetime(2027, 3, 1, tzinfo=UTC), "40HC")
    cargo = Cargo(weight_kg=12000, volume_m3=60, equipment="40HC")
    assert leg_charge(net, net.services[LANE], cargo, False).cost == Decimal("6100.00")
    other = _priced(rows, datetime(2027, 3, 1, tzinfo=UTC), "20GP")
    assert other.services[LANE].rate.per_box is None


def test_baf_and_peak_season_are_lines_of_their_own_that_add_up_to_the_leg() -> None:
    when = datetime(2027, 3, 1, 6, tzinfo=UTC)
    net = _priced([row()], when, "40GP")
    cargo = Cargo(weight_kg=12000, volume_m3=60, equipment="40GP")
    request = QuoteRequest(
        origin="YIB", destination="MAL", ready_at=when, deliver_by=None, cargo=cargo, customs_mode="9810"
    )
    options = plan(net, expand(net, datetime(2027, 2, 22, tzinfo=UTC), 4), request)
    on_lane = [o for o in options if any(leg.service_id == LANE for leg in o.legs)]
    assert on_lane
    for o in on_lane:
        i = next(k for k, leg in enumerate(o.legs) if leg.service_id == LANE)
        lines = [c for c in breakdown(net, o, cargo) if c.leg == i]
        amounts = {c.code: c.amount for c in lines}
        assert amounts["FRT"] == Decimal("5000.00")
        assert amounts["BAF"] == Decimal("500.00")
        assert amounts["PSS"] == Decimal("250.00")
        assert sum(c.amount for c in lines) == o.legs[i].cost
        assert all(
            c.source == "rate table row 0: test tariff" for c in lines if c.code in ("FRT", "BAF", "PSS")
        )


def test_xb_rate_table_replaces_the_shipped_table_and_a_bad_file_names_its_errors(tmp_path: Path) -> None:
    from logistics.network_state import NetworkState

    good = tmp_path / "rates.json"
    good.write_text(json.dumps({"rows": [row()]}))
    state = NetworkState(rate_table_file=str(good))
    assert state.rate_table is not None and len(state.rate_table.rows) == 1
    when = datetime(2027, 3, 1, tzinfo=UTC)
    assert state.priced(when, "40GP").services[LANE].rate.per_feu == Decimal("5000")
    assert state.priced(when, "40GP") is state.priced(when, "20GP")  # one priced network per set of rates
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": [row(amount="0"), row(lane="X")]}))
    with pytest.raises(
        RateTableInvalid, match=r"2 error\(s\): row 0 amount: .*; row 1 lane: unknown lane 'X'"
    ):
        _ = NetworkState(rate_table_file=str(bad)).rate_table
