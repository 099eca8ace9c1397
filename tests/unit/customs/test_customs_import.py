"""The 1210 bonded import, pure: the import waybill (CEB511) and its status (CEB513) built from a booking
validate against our schema; the status is due at the ACT arrival in the bonded zone only (not inferred,
once per fact, a moved arrival files a correction); the simulated window wants the waybill first."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from logistics.customs import declaration, messages, triggers
from logistics.customs.gateway import Outgoing, SimulatedSingleWindow
from logistics.customs.spec import SchemaError, validate, validate_receipt
from tests.unit.customs.test_customs import SHIPMENT, T0, TEA, data, ms

NS = "{http://www.chinaport.gov.cn/ceb}"
IMPORT = triggers.CustomsRoute(None, None, None, None, None, "YIB")


def test_the_import_waybill_and_its_status_validate() -> None:
    waybill = messages.import_waybill_message(messages.new_guid(), "1", T0, data(), SHIPMENT, "DXPENT0001")
    root = validate(waybill)
    assert root.tag == f"{NS}CEB511Message"
    head = f"{NS}Logistics/{NS}LogisticsHead"
    assert root.findtext(f"{head}/{NS}logisticsNo") == "XB27030100001"
    assert root.findtext(f"{head}/{NS}weight") == "120.5"
    assert root.findtext(f"{head}/{NS}packNo") == "4"
    arrived = T0 + timedelta(days=14)
    status = messages.waybill_status_message(
        messages.new_guid(), "1", arrived, arrived, data(), SHIPMENT, "DXPENT0001"
    )
    root = validate(status)
    assert root.findtext(f"{NS}LogisticsStatus/{NS}logisticsStatus") == "S"
    assert root.findtext(f"{NS}LogisticsStatus/{NS}logisticsTime") == "20270315140000"  # UTC+8


def test_the_import_schema_names_what_is_wrong() -> None:
    status = messages.waybill_status_message(messages.new_guid(), "1", T0, T0, data(), SHIPMENT, "DXPENT0001")
    with pytest.raises(SchemaError) as info:
        validate(status.replace(b">S</ceb:logisticsStatus>", b">R</ceb:logisticsStatus>"))
    assert info.value.problems == ["/CEB513Message/LogisticsStatus[1]/logisticsStatus: 'R' is not one of S"]
    waybill = messages.import_waybill_message(messages.new_guid(), "1", T0, data(), SHIPMENT, "DXPENT0001")
    # the export waybill's fields directly under the import's Logistics block: the head is missing
    flat = waybill.replace(b"<ceb:LogisticsHead>", b"").replace(b"</ceb:LogisticsHead>", b"")
    with pytest.raises(SchemaError, match=r"Logistics\[1\]/LogisticsHead: 0 found"):
        validate(flat)


def test_the_import_receipts_parse() -> None:
    for sent, expected in (("CEB511", "CEB512"), ("CEB513", "CEB514")):
        receipt = messages.receipt_message(sent, messages.new_guid(), "91511500MA62XBXB01", "120", "ok", T0)
        kind, block = validate_receipt(receipt)
        assert kind == expected
        assert block.tag == f"{NS}{messages.RETURN_BLOCK[expected]}"


def test_the_route_from_abroad_into_china_ends_at_its_import_site() -> None:
    countries = {"YIB": "CN", "MANZHOULI": "CN", "BREST": "BY", "DUI": "DE"}
    inbound = {
        "legs": [{"origin": "DUI", "destination": "YIB", "mode": "rail", "service_id": "S9"}],
        "stops": [
            {"node_id": "DUI", "role": "origin", "mode_out": "rail"},
            {"node_id": "BREST", "role": "border", "mode_out": "rail"},
            {"node_id": "MANZHOULI", "role": "border", "mode_out": "rail"},
            {"node_id": "YIB", "role": "destination"},
        ],
    }
    assert triggers.customs_route(inbound, countries.get) == IMPORT
    outbound = {
        "legs": [{"origin": "YIB", "destination": "DUI", "mode": "rail", "service_id": "S1"}],
        "stops": [
            {"node_id": "YIB", "role": "origin", "mode_out": "rail"},
            {"node_id": "MANZHOULI", "role": "border", "mode_out": "rail"},
            {"node_id": "DUI", "role": "destination"},
        ],
    }
    assert triggers.customs_route(outbound, countries.get).import_site is None


def test_the_status_is_due_at_the_act_arrival_in_the_bonded_zone_only() -> None:
    # the border crossing into China and arrivals elsewhere file nothing; an inferred arrival neither
    assert triggers.due("XB1", IMPORT, [ms("CROS", "MANZHOULI", 200), ms("ARRI", "CKG_RAIL", 300)], []) == []
    assert triggers.due("XB1", IMPORT, [ms("ARRI", "YIB", 320, inferred=True)], []) == []
    [status] = triggers.due("XB1", IMPORT, [ms("ARRI", "YIB", 321)], [])
    assert (status.type, status.node_id, status.milestone, status.app_type) == ("CEB513", "YIB", "ARRI", "1")
    assert triggers.due("XB1", IMPORT, [ms("ARRI", "YIB", 321)], [status.fact_key]) == []
    [fix] = triggers.due("XB1", IMPORT, [ms("ARRI", "YIB", 320.5)], [status.fact_key])
    assert (fix.type, fix.app_type) == ("CEB513", "2")


def test_the_simulated_window_wants_the_import_waybill_before_its_status() -> None:
    window = SimulatedSingleWindow(lambda: T0)
    status = messages.waybill_status_message(messages.new_guid(), "1", T0, T0, data(), SHIPMENT, "DXPENT0001")
    waybill = messages.import_waybill_message(messages.new_guid(), "1", T0, data(), SHIPMENT, "DXPENT0001")
    early = messages.new_guid()
    window.send(Outgoing(early, "CEB513", status))
    window.send(Outgoing(messages.new_guid(), "CEB511", waybill))
    again = messages.waybill_status_message(messages.new_guid(), "1", T0, T0, data(), SHIPMENT, "DXPENT0001")
    window.send(Outgoing(messages.new_guid(), "CEB513", again))
    answers = [validate_receipt(r.xml) for r in window.receipts()]
    assert [(kind, block.findtext(f"{NS}returnStatus")) for kind, block in answers] == [
        ("CEB514", "100"),
        ("CEB512", "120"),
        ("CEB514", "120"),
    ]


def test_a_list_longer_than_a_message_holds_is_split_with_its_count_and_sequence() -> None:
    many = tuple(declaration.Parcel(f"YB{i:010d}", Decimal("2.5"), 1, (TEA,)) for i in range(1, 251))
    d = data(many)
    assert messages.list_parts(d) == 3
    assert messages.list_parts(data()) == 1
    seen: list[str] = []
    for part in (1, 2, 3):
        for build, block in (
            (
                lambda p: messages.arrival_message(messages.new_guid(), "1", T0, d, SHIPMENT, "DXP", p),
                "Arrival",
            ),
            (
                lambda p: messages.departure_message(messages.new_guid(), "1", T0, T0, d, SHIPMENT, "DXP", p),
                "Departure",
            ),
        ):
            root = validate(build(part))
            head = f"{NS}{block}/{NS}{block}Head"
            assert (root.findtext(f"{head}/{NS}msgCount"), root.findtext(f"{head}/{NS}msgSeqNo")) == (
                "3",
                str(part),
            )
            rows = root.findall(f"{NS}{block}/{NS}{block}List")
            assert [r.findtext(f"{NS}gnum") for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
            if block == "Arrival":
                seen += [r.findtext(f"{NS}logisticsNo") or "" for r in rows]
    assert seen == [p.logistics_no for p in many]  # every parcel once, in order: 100, 100, 50
    with pytest.raises(ValueError):
        messages.arrival_message(messages.new_guid(), "1", T0, d, SHIPMENT, "DXP", 4)
