"""The 1210 bonded import into Yibin: a consignment booked from Duisburg into the bonded zone files its import
waybill (CEB511) at booking and, tracked over MQTT into China, its waybill status (CEB513) at the ACT arrival
in the bonded zone -- nothing at the border crossings on the way -- both accepted by the simulated single
window, each once however often the readings come. And a 9610 consolidation of more parcels than one list
holds files its arrival and departure lists in parts (msgCount/msgSeqNo)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role
from logistics.customs import delivery
from logistics.customs.gateway import SimulatedSingleWindow
from logistics.customs.spec import LIST_ROWS
from tests.conftest import Keys
from tests.integration.test_customs import TEA, MqttTracking, book, customs, parcels, track


def book_import(client: TestClient, fwd: dict[str, str], mode: str, destination: str = "CNYIB") -> Any:
    quote = client.post(
        "/v1/quotes",
        headers=fwd,
        json={
            "origin": "DUI",
            "destination": destination,
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 3000, "volume_m3": 20, "equipment": "20GP"},
            "customs_mode": mode,
        },
    )
    assert quote.status_code == 201, quote.text
    options = quote.json()["options"]
    rail = [o for o in options if all(leg["mode"] in ("rail", "road") for leg in o["legs"])]
    option = min(rail or options, key=lambda o: len(o["legs"]))
    body = customs(consignee_country="CN", goods=[{**TEA, "description": "German baby formula 800 g"}])
    return client.post(
        "/v1/bookings",
        headers=fwd,
        json={"quote_id": quote.json()["id"], "option_id": option["id"], "customs": body},
    )


def test_a_bonded_import_files_its_waybill_at_booking_and_its_status_at_the_arrival(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock, broker_url: str
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    booked = book_import(client, fwd, "1210")
    assert booked.status_code == 201, booked.text
    no = booked.json()["waybill_no"]
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert (doc["mode"], [(m["type"], m["status"]) for m in doc["messages"]]) == (
        "1210",
        [("CEB511", "QUEUED")],
    )

    mqtt = MqttTracking(broker_url, container, clock)
    try:
        dev, payloads = track(client, clock, fwd, no, mqtt)
        run = delivery.deliver(container.db, clock, container.customs_gateway)
        assert (run.failed, run.unmatched) == (0, 0)
        mqtt.publish(dev, payloads)  # the same readings again: nothing new is filed
    finally:
        mqtt.stop()
    delivery.deliver(container.db, clock, container.customs_gateway)
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert [(m["type"], m["status"]) for m in doc["messages"]] == [
        ("CEB511", "ACCEPTED"),
        ("CEB513", "ACCEPTED"),
    ]
    status = doc["messages"][1]
    assert (status["trigger"]["milestone"], status["trigger"]["location"]) == ("ARRI", "YIB")
    assert status["receipt"]["type"] == "CEB514"
    xml = client.get(f"/v1/customs/messages/{status['id']}", headers=fwd)
    assert b"<ceb:CEB513Message" in xml.content
    assert b"<ceb:logisticsStatus>S</ceb:logisticsStatus>" in xml.content
    window = container.customs_gateway
    assert isinstance(window, SimulatedSingleWindow)
    ids = [m["id"] for m in doc["messages"]]
    assert [guid for guid in window.filed if guid in ids] == ids  # handed over once each, in filing order


def test_a_cancelled_bonded_import_cancels_its_import_waybill(
    client: TestClient, keys: Keys, container: Container
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    booked = book_import(client, fwd, "1210")
    assert booked.status_code == 201, booked.text
    cancelled = client.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=fwd)
    assert cancelled.status_code == 200, cancelled.text
    doc = client.get(f"/v1/waybills/{booked.json()['waybill_no']}/customs", headers=fwd).json()
    assert [(m["type"], m["app_type"]) for m in doc["messages"]] == [("CEB511", "1"), ("CEB511", "3")]


def test_an_import_under_an_export_mode_is_refused(client: TestClient, keys: Keys) -> None:
    fwd = keys.headers(Role.FORWARDER)
    refused = book_import(client, fwd, "9710")
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["customs_mode"]


def test_a_consolidation_of_more_parcels_than_a_list_holds_files_its_lists_in_parts(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock, broker_url: str
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    many = parcels(LIST_ROWS + 20)
    booked = book(
        client, fwd, "9610", customs(goods=[], parcels=many, gross_weight_kg="300", net_weight_kg="250")
    )
    assert booked.status_code == 201, booked.text
    no = booked.json()["waybill_no"]
    mqtt = MqttTracking(broker_url, container, clock)
    try:
        track(client, clock, fwd, no, mqtt)
    finally:
        mqtt.stop()
    run = delivery.deliver(container.db, clock, container.customs_gateway)
    assert (run.failed, run.unmatched) == (0, 0)
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    types = [m["type"] for m in doc["messages"]]
    assert types == ["CEB505"] * len(many) + ["CEB507", "CEB507", "CEB509", "CEB509"]
    assert {m["status"] for m in doc["messages"]} == {"ACCEPTED"}
    listed: list[str] = []
    for m in doc["messages"][len(many) :]:
        xml = client.get(f"/v1/customs/messages/{m['id']}", headers=fwd).content
        assert b"<ceb:msgCount>2</ceb:msgCount>" in xml
        if m["type"] == "CEB507":
            listed += re.findall(r"<ceb:logisticsNo>([^<]+)</ceb:logisticsNo>", xml.decode())
    assert listed == [p["logistics_no"] for p in many]  # each parcel once over the two arrival messages
