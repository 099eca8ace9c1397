"""Customs declarations, pure: each message built from a booking validates against our schema; the trigger
rules (ACT, inferred, corrected milestones); a fact is due once; the mode rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kernel.errors import InvalidInput
from logistics.customs import declaration, messages, triggers
from logistics.customs.gateway import Outgoing, SimulatedSingleWindow
from logistics.customs.spec import SchemaError, validate, validate_receipt

T0 = datetime(2027, 3, 1, 6, tzinfo=UTC)
TEA = declaration.GoodsLine(
    "0902109000", "Yibin green tea 250 g", Decimal("400"), "pcs", declaration.Money(Decimal("2400"), "USD")
)


def data(parcels: tuple[declaration.Parcel, ...] = ()) -> declaration.CustomsData:
    return declaration.CustomsData(
        ecommerce_enterprise=declaration.Enterprise("5115960001", "Yibin Tea Export Co"),
        logistics_enterprise=declaration.Enterprise("91511500MA62XBXB01", "Xborder Logistics Yibin"),
        declaration_customs="7920",
        exit_customs="7609",
        consignee_country="DE",
        gross_weight_kg=Decimal("120.5"),
        net_weight_kg=Decimal("100"),
        packages=4,
        goods=(TEA,) if not parcels else (),
        parcels=parcels,
    )


PARCELS = tuple(declaration.Parcel(f"YB{i:010d}", Decimal("2.5"), 1, (TEA,)) for i in range(1, 4))
SHIPMENT = messages.Shipment("XB27030100001", Decimal("1830.00"), "USD", "rail", "CDU-DUI-RAIL", T0)


def test_every_message_built_from_a_booking_validates() -> None:
    guids = [messages.new_guid()]
    [(no, waybill)] = messages.waybill_messages(guids, "1", T0, data(), SHIPMENT, "DXPENT0001")
    assert no == "XB27030100001"
    root = validate(waybill)
    assert root.tag == "{http://www.chinaport.gov.cn/ceb}CEB505Message"
    validate(messages.arrival_message(messages.new_guid(), "1", T0, data(), SHIPMENT, "DXPENT0001"))
    departure = messages.departure_message(messages.new_guid(), "1", T0, T0, data(), SHIPMENT, "DXPENT0001")
    root = validate(departure)
    ns = "{http://www.chinaport.gov.cn/ceb}"
    assert root.findtext(f"{ns}Departure/{ns}DepartureHead/{ns}leaveTime") == "20270301140000"  # UTC+8
    assert root.findtext(f"{ns}Departure/{ns}DepartureHead/{ns}trafMode") == "3"


def test_9610_files_one_waybill_per_parcel_and_lists_them_on_arrival() -> None:
    d = data(PARCELS)
    guids = [messages.new_guid() for _ in PARCELS]
    built = messages.waybill_messages(guids, "1", T0, d, SHIPMENT, "DXPENT0001")
    assert [no for no, _ in built] == [p.logistics_no for p in PARCELS]
    for _, xml in built:
        validate(xml)
    arrival = validate(messages.arrival_message(messages.new_guid(), "1", T0, d, SHIPMENT, "DXPENT0001"))
    ns = "{http://www.chinaport.gov.cn/ceb}"
    rows = arrival.findall(f"{ns}Arrival/{ns}ArrivalList/{ns}logisticsNo")
    assert [r.text for r in rows] == [p.logistics_no for p in PARCELS]


def test_the_schema_names_what_is_wrong() -> None:
    [(_, xml)] = messages.waybill_messages([messages.new_guid()], "1", T0, data(), SHIPMENT, "DXPENT0001")
    broken = xml.replace(b"<ceb:currency>502</ceb:currency>", b"<ceb:currency>USD</ceb:currency>")
    with pytest.raises(SchemaError) as info:
        validate(broken)
    assert info.value.problems == [
        "/CEB505Message/Logistics[1]/currency: 'USD' is not one of 142, 502, 300, 303, 116, 110"
    ]
    missing = xml.replace(b"<ceb:logisticsNo>XB27030100001</ceb:logisticsNo>", b"")
    with pytest.raises(SchemaError, match="logisticsNo: required"):
        validate(missing)


def test_receipts_parse_and_a_doctype_is_refused() -> None:
    receipt = messages.receipt_message("CEB507", messages.new_guid(), "5115960001", "100", "退单", T0)
    kind, block = validate_receipt(receipt)
    assert kind == "CEB508"
    with pytest.raises(SchemaError):
        validate_receipt(b'<!DOCTYPE x [<!ENTITY a "b">]>' + receipt)


ROUTE = triggers.CustomsRoute("YIB", "AKL", "CROS", "rail", "S1")


def ms(code: str, node: str, hours: float, inferred: bool = False) -> triggers.ActMilestone:
    return triggers.ActMilestone(code, node, T0 + timedelta(hours=hours), inferred)


def test_act_milestones_at_the_origin_site_and_the_exit_point_are_due() -> None:
    due = triggers.due("XB1", ROUTE, [ms("GTOT", "YIB", 1), ms("DEPA", "YIB", 1), ms("CROS", "AKL", 90)], [])
    assert [(d.type, d.node_id, d.milestone, d.app_type) for d in due] == [
        ("CEB507", "YIB", "GTOT", "1"),
        ("CEB509", "AKL", "CROS", "1"),
    ]


def test_an_inferred_milestone_files_nothing_until_confirmed() -> None:
    assert triggers.due("XB1", ROUTE, [ms("CROS", "AKL", 90, inferred=True)], []) == []
    [d] = triggers.due("XB1", ROUTE, [ms("CROS", "AKL", 91)], [])
    assert (d.type, d.app_type, d.time) == ("CEB509", "1", T0 + timedelta(hours=91))


def test_a_filed_fact_is_not_due_again_and_a_moved_milestone_files_a_correction() -> None:
    [first] = triggers.due("XB1", ROUTE, [ms("GTOT", "YIB", 1)], [])
    assert triggers.due("XB1", ROUTE, [ms("GTOT", "YIB", 1)], [first.fact_key]) == []
    [fix] = triggers.due("XB1", ROUTE, [ms("GTOT", "YIB", 0.5)], [first.fact_key])
    assert (fix.type, fix.app_type) == ("CEB507", "2")
    assert fix.fact_key != first.fact_key


def test_the_route_knows_its_exit_point() -> None:
    countries = {"YIB": "CN", "AKL": "CN", "DOSTYK": "KZ", "DUI": "DE", "QZH": "CN", "SIN": "SG"}
    rail = {
        "legs": [{"origin": "YIB", "destination": "DUI", "mode": "rail", "service_id": "S1"}],
        "stops": [
            {"node_id": "YIB", "role": "origin", "mode_out": "rail"},
            {"node_id": "AKL", "role": "border", "mode_out": "rail"},
            {"node_id": "DOSTYK", "role": "border", "mode_out": "rail"},
            {"node_id": "DUI", "role": "destination"},
        ],
    }
    assert triggers.customs_route(rail, countries.get) == triggers.CustomsRoute(
        "YIB", "AKL", "CROS", "rail", "S1"
    )
    sea = {
        "legs": [
            {"origin": "YIB", "destination": "QZH", "mode": "rail", "service_id": "R"},
            {"origin": "QZH", "destination": "SIN", "mode": "sea", "service_id": "V"},
        ],
        "stops": [
            {"node_id": "YIB", "role": "origin", "mode_out": "rail"},
            {"node_id": "QZH", "role": "hub", "mode_out": "sea"},
            {"node_id": "SIN", "role": "destination"},
        ],
    }
    assert triggers.customs_route(sea, countries.get) == triggers.CustomsRoute(
        "YIB", "QZH", "DEPA", "sea", "V"
    )


def route(
    destination: str = "DUI", warehouse: bool = True, exit_node: str | None = "AKL"
) -> declaration.Route:
    return declaration.Route("YIB", destination, exit_node, warehouse)


def test_the_mode_rules() -> None:
    declaration.check("9810", data(), route())
    declaration.check("9610", data(PARCELS), route(warehouse=False))
    cases = [
        ("9610", data(), route(), "customs.parcels"),
        ("9810", data(), route(warehouse=False), "customs_mode"),
        ("9710", data(PARCELS), route(), "customs.parcels"),
        ("9710", data(), route(exit_node=None), "customs_mode"),
    ]
    for mode, d, r, field in cases:
        with pytest.raises(InvalidInput) as info:
            declaration.check(mode, d, r)
        assert [e["field"] for e in info.value.errors or []][0] == field
    bad = declaration.GoodsLine("09021", "tea", Decimal(1), "kg", declaration.Money(Decimal(1), "XXX"))
    with pytest.raises(InvalidInput) as info:
        declaration.check("9810", declaration.CustomsData(**{**data().__dict__, "goods": (bad,)}), route())
    assert [e["field"] for e in info.value.errors or []] == [
        "customs.goods[0].hs_code",
        "customs.goods[0].value.currency",
    ]


def test_the_simulated_single_window_files_a_message_once_and_rejects_an_arrival_before_its_waybill() -> None:
    window = SimulatedSingleWindow(lambda: T0)
    guid = messages.new_guid()
    arrival = messages.arrival_message(guid, "1", T0, data(), SHIPMENT, "DXPENT0001")
    window.send(Outgoing(guid, "CEB507", arrival))
    window.send(Outgoing(guid, "CEB507", arrival))  # again after a crash
    [receipt] = window.receipts()
    assert b"<ceb:returnStatus>100</ceb:returnStatus>" in receipt.xml
    assert len(window.filed) == 1
