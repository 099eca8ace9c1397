"""The demo's rejected declaration is corrected by the shipper's clerk of the simulator, against the real
service: the single window rejects the unregistered enterprise, the alarm is raised; once the delay of
service time has passed the clerk's PUT files the correction, which is accepted and clears the alarm."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from api.container import Container
from iot_sim.api import XborderApi
from iot_sim.customs import CORRECTION_DELAY, UNREGISTERED, CustomsClerk, customs_block
from kernel.clock import FixedClock
from kernel.identity import Role
from logistics.customs import delivery
from logistics.customs.gateway import SimulatedSingleWindow
from tests.conftest import Keys
from tests.integration.test_customs import book

SHIPPER = "Yibin Lingang Trading Co., Ltd."


def test_the_demo_clerk_corrects_the_rejected_declaration_after_the_delay(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    block = customs_block(SHIPPER, "DEDUI", 3000.0)
    booked = book(client, fwd, "9710", block)
    assert booked.status_code == 201, booked.text
    no = booked.json()["waybill_no"]
    window = SimulatedSingleWindow(clock.now, unregistered=frozenset(UNREGISTERED.values()))
    api = XborderApi("http://testserver", fwd["Authorization"].split()[1], transport=client._transport)
    clerk = CustomsClerk(api)
    clerk.booked(no, block)

    delivery.deliver(container.db, clock, window)
    clerk.tick(clock.now())
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert [(m["type"], m["status"]) for m in doc["messages"]] == [("CEB505", "REJECTED")]
    alarms = client.get(f"/v1/waybills/{no}", headers=fwd).json()["alarms"]
    assert [(a["kind"], a["cleared_at"]) for a in alarms] == [("customs_rejected", None)]

    clock.set(clock.now() + CORRECTION_DELAY - timedelta(minutes=5))
    clerk.tick(clock.now())
    assert clerk.corrected == []
    clock.set(clock.now() + timedelta(minutes=5))
    clerk.tick(clock.now())
    assert clerk.corrected == [no]
    delivery.deliver(container.db, clock, window)
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert [(m["type"], m["app_type"], m["status"]) for m in doc["messages"]] == [
        ("CEB505", "1", "REJECTED"),
        ("CEB505", "2", "ACCEPTED"),
    ]
    alarms = client.get(f"/v1/waybills/{no}", headers=fwd).json()["alarms"]
    assert [a["kind"] for a in alarms] == ["customs_rejected"]
    assert alarms[0]["cleared_at"] is not None
