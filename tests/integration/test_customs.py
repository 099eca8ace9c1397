"""Customs declarations driven by the cargo: a 9810 container to Duisburg and a 9610 parcel consolidation are
booked with their customs data and tracked from Yibin out of China; the waybill, arrival and departure
messages are queued, sent through the simulated single window and accepted, in order. A rejected receipt
raises the waybill's alarm; a delivery that crashes after the hand-over files nothing twice."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import BrokerAddress, PahoCommunicator
from logistics import events
from logistics.customs import delivery, filing, messages
from logistics.customs.gateway import DirectoryDrop, Outgoing, SimulatedSingleWindow
from logistics.ingest import TelemetryIngest
from logistics.tables import waybill_events
from tests.conftest import Keys

TEA = {
    "hs_code": "0902109000",
    "description": "Yibin green tea 250 g",
    "quantity": "400",
    "unit": "pcs",
    "value": {"amount": "2400.00", "currency": "USD"},
}


def customs(**extra: Any) -> dict[str, Any]:
    return {
        "ecommerce_enterprise": {"code": "5115960001", "name": "Yibin Tea Export Co"},
        "logistics_enterprise": {"code": "91511500MA62XBXB01", "name": "Xborder Logistics Yibin"},
        "declaration_customs": "7920",
        "exit_customs": "7609",
        "consignee_country": "DE",
        "gross_weight_kg": "3000",
        "net_weight_kg": "2800",
        "packages": 40,
        "goods": [TEA],
        **extra,
    }


def parcels(n: int) -> list[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8].upper()
    return [
        {"logistics_no": f"YB{tag}{i:03d}", "gross_weight_kg": "2.5", "packages": 1, "goods": [TEA]}
        for i in range(n)
    ]


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def book(client: TestClient, fwd: dict[str, str], mode: str, body: dict[str, Any] | None) -> Any:
    quote = client.post(
        "/v1/quotes",
        headers=fwd,
        json={
            "origin": "CNYIB",
            "destination": "DUI",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 3000, "volume_m3": 20, "equipment": "20GP"},
            "customs_mode": mode,
        },
    ).json()
    rail = [o for o in quote["options"] if all(leg["mode"] in ("rail", "road") for leg in o["legs"])]
    option = min(rail or quote["options"], key=lambda o: len(o["legs"]))
    payload: dict[str, Any] = {"quote_id": quote["id"], "option_id": option["id"]}
    if body is not None:
        payload["customs"] = body
    return client.post("/v1/bookings", headers=fwd, json=payload)


class MqttTracking:
    """The ingest on a real broker (Mosquitto under XB_TEST_MQTT_URL), with the container's hooks, under a
    topic root of its own; readings are published as trackers do."""

    def __init__(self, broker_url: str, container: Container, clock: FixedClock) -> None:
        tag = f"xbt-customs-{uuid.uuid4().hex[:8]}"
        self.root = f"{tag}/v1"
        address = BrokerAddress.parse(broker_url)
        self.ingest_comm = PahoCommunicator(address, f"{tag}-ingest").start()
        self.ingest = TelemetryIngest(
            container.db, clock, self.ingest_comm, root=self.root, hooks=container.ingest_hooks
        ).start()
        self.tracker = PahoCommunicator(address, f"{tag}-tracker").start()
        time.sleep(0.5)  # the ingest's SUBSCRIBE applied

    def publish(self, dev: str, payloads: list[bytes]) -> None:
        done = self.ingest.processed + len(payloads)
        for payload in payloads:
            self.tracker.publish(f"{self.root}/devices/{dev}/telemetry", payload, qos=1)
        deadline = time.monotonic() + 60
        while self.ingest.processed < done and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.ingest.processed >= done, f"{self.ingest.processed} of {done} processed"

    def stop(self) -> None:
        self.tracker.stop()
        self.ingest.stop()
        self.ingest_comm.stop()


def track(
    client: TestClient, clock: FixedClock, fwd: dict[str, str], no: str, mqtt: MqttTracking
) -> tuple[str, list[bytes]]:
    """A tracker on the waybill reporting along every stop of its itinerary over MQTT."""
    dev = f"dev-cus-{no}"
    client.post("/v1/devices", headers=fwd, json={"device_id": dev, "kind": "container"})
    client.post(f"/v1/waybills/{no}/trackers", headers=fwd, json={"device_id": dev})
    stops = client.get(f"/v1/waybills/{no}", headers=fwd).json()["itinerary"]["stops"]
    fixes = [(_dt(stops[0]["planned_departure"]) - timedelta(hours=2), stops[0]["lat"], stops[0]["lon"])]
    for a, b in zip(stops, stops[1:], strict=False):
        t0 = _dt(a["planned_departure"] or a["planned_arrival"])
        t1 = _dt(b["planned_arrival"])
        for i in range(4):
            f = i / 4
            fixes.append(
                (
                    t0 + (t1 - t0) * f,
                    a["lat"] + f * (b["lat"] - a["lat"]),
                    a["lon"] + f * (b["lon"] - a["lon"]),
                )
            )
        fixes.append((t1, b["lat"], b["lon"]))
    clock.set(max(clock.now(), fixes[-1][0] + timedelta(hours=1)))
    payloads = [
        json.dumps({"seq": i + 1, "ts": t.isoformat(), "lat": lat, "lon": lon}).encode()
        for i, (t, lat, lon) in enumerate(fixes)
    ]
    mqtt.publish(dev, payloads)
    return dev, payloads


def warehouse_at_duisburg(client: TestClient, admin: dict[str, str]) -> None:
    code = "W" + uuid.uuid4().hex[:8].upper()
    r = client.post(
        "/v1/warehouses",
        headers=admin,
        json={"code": code, "name": "Duisburg", "country": "DE", "lat": 51.43, "lon": 6.76, "node_id": "DUI"},
    )
    assert r.status_code == 201, r.text


def test_declarations_follow_the_cargo_and_are_accepted_in_order(
    client: TestClient,
    keys: Keys,
    admin: dict[str, str],
    container: Container,
    clock: FixedClock,
    broker_url: str,
) -> None:
    warehouse_at_duisburg(client, admin)
    fwd = keys.headers(Role.FORWARDER)
    b2b = book(client, fwd, "9810", customs())
    assert b2b.status_code == 201, b2b.text
    consolidated = book(
        client, fwd, "9610", customs(goods=[], parcels=parcels(3), gross_weight_kg="7.5", net_weight_kg="6")
    )
    assert consolidated.status_code == 201, consolidated.text
    nos = [b2b.json()["waybill_no"], consolidated.json()["waybill_no"]]
    before = {no: client.get(f"/v1/waybills/{no}/customs", headers=fwd).json() for no in nos}
    assert [m["type"] for m in before[nos[0]]["messages"]] == ["CEB505"]
    assert [m["type"] for m in before[nos[1]]["messages"]] == ["CEB505"] * 3  # one waybill per parcel
    assert {m["status"] for no in nos for m in before[no]["messages"]} == {"QUEUED"}

    mqtt = MqttTracking(broker_url, container, clock)
    try:
        sent = {no: track(client, clock, fwd, no, mqtt) for no in nos}
        _check_declarations(client, container, clock, fwd, nos)
        for dev, payloads in sent.values():  # the same readings again (a redelivery): nothing new is filed
            mqtt.publish(dev, payloads)
    finally:
        mqtt.stop()
    assert (
        sum(len(client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()["messages"]) for no in nos) == 8
    )
    # another tenant sees none of it
    other = keys.headers(Role.FORWARDER)
    assert client.get(f"/v1/waybills/{nos[0]}/customs", headers=other).status_code == 404
    first = client.get(f"/v1/waybills/{nos[0]}/customs", headers=fwd).json()["messages"][0]
    assert client.get(f"/v1/customs/messages/{first['id']}", headers=other).status_code == 404


def _check_declarations(
    client: TestClient, container: Container, clock: FixedClock, fwd: dict[str, str], nos: list[str]
) -> None:
    run = delivery.deliver(container.db, clock, container.customs_gateway)
    assert (run.failed, run.unmatched) == (0, 0)
    for no, expected in zip(
        nos, (["CEB505", "CEB507", "CEB509"], ["CEB505"] * 3 + ["CEB507", "CEB509"]), strict=True
    ):
        doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
        assert [m["type"] for m in doc["messages"]] == expected
        assert [m["status"] for m in doc["messages"]] == ["ACCEPTED"] * len(expected), doc
        assert [m["trigger"]["milestone"] if m["trigger"] else None for m in doc["messages"]][-2:] == [
            "GTOT",
            "CROS",
        ]
        assert doc["messages"][-1]["trigger"]["location"] in ("AKL", "HRS", "ERENHOT", "MANZHOULI")
        assert doc["messages"][-1]["receipt"]["type"] == "CEB510"
        ids = [m["id"] for m in doc["messages"]]
        window = container.customs_gateway
        assert isinstance(window, SimulatedSingleWindow)
        assert [guid for guid in window.filed if guid in ids] == ids  # handed over in filing order
        xml = client.get(f"/v1/customs/messages/{doc['messages'][-1]['id']}", headers=fwd)
        assert xml.headers["content-type"].startswith("application/xml")
        assert b"<ceb:CEB509Message" in xml.content


def test_a_rejected_receipt_raises_the_waybill_alarm(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    r = book(client, fwd, "9710", customs())
    assert r.status_code == 201, r.text
    no = r.json()["waybill_no"]
    [msg] = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()["messages"]
    receipt = messages.receipt_message(
        "CEB505", msg["id"], "91511500MA62XBXB01", "100", "运单重复 (duplicate)", clock.now()
    )
    other = keys.headers(Role.FORWARDER)
    assert client.post("/v1/customs/receipts", headers=other, content=receipt).status_code == 404
    posted = client.post(
        "/v1/customs/receipts",
        headers=fwd,
        content=receipt,
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "REJECTED"
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert doc["messages"][0]["status"] == "REJECTED"
    assert doc["messages"][0]["receipt"]["return_info"] == "运单重复 (duplicate)"
    alarms = client.get(f"/v1/waybills/{no}", headers=fwd).json()["alarms"]
    assert [a["kind"] for a in alarms] == ["customs_rejected"]
    bad = client.post("/v1/customs/receipts", headers=fwd, content=b"<not-a-receipt/>")
    assert bad.status_code == 422


def test_a_retry_after_a_crash_files_nothing_twice(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    no = book(
        client, fwd, "9610", customs(goods=[], parcels=parcels(2), gross_weight_kg="5", net_weight_kg="4")
    ).json()["waybill_no"]
    window = SimulatedSingleWindow(clock.now)

    class Crash(Exception):
        pass

    class CrashAfterHandOver:
        def send(self, message: Outgoing) -> None:
            window.send(message)
            raise Crash  # the process dies before the outbox commits SENT

        def receipts(self) -> list[Any]:
            return []

        def ack(self, handle: str) -> None:
            return None

    with pytest.raises(Crash):
        delivery.deliver(container.db, clock, CrashAfterHandOver())
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert [m["status"] for m in doc["messages"]] == ["QUEUED", "QUEUED"]
    delivery.deliver(container.db, clock, window)
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert [m["status"] for m in doc["messages"]] == ["ACCEPTED", "ACCEPTED"]
    ours = {m["id"] for m in doc["messages"]}
    assert sum(1 for guid in window.filed if guid in ours) == 2


def test_a_booking_without_customs_data_files_nothing_and_says_so(
    client: TestClient, keys: Keys, container: Container
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    no = book(client, fwd, "9710", None).json()["waybill_no"]
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert (doc["mode"], doc["declared"], doc["messages"]) == ("9710", False, [])
    bad = book(client, fwd, "9610", customs())  # 9610 without parcels
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["customs.parcels"]


def test_a_declaration_rejected_by_the_single_window_is_corrected(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock, broker_url: str
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    unknown = {"code": "91511500MA00000000", "name": "Unregistered Trading Co"}
    no = book(client, fwd, "9710", customs(ecommerce_enterprise=unknown)).json()["waybill_no"]
    mqtt = MqttTracking(broker_url, container, clock)
    try:
        track(client, clock, fwd, no, mqtt)
    finally:
        mqtt.stop()
    window = SimulatedSingleWindow(clock.now, unregistered=frozenset({unknown["code"]}))
    delivery.deliver(container.db, clock, window)
    rejected = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()["messages"]
    assert [(m["type"], m["status"]) for m in rejected] == [
        ("CEB505", "REJECTED"),
        ("CEB507", "REJECTED"),  # the window has no accepted waybill for it
        ("CEB509", "REJECTED"),
    ]
    assert "91511500MA00000000" in rejected[0]["receipt"]["return_info"]
    alarms = client.get(f"/v1/waybills/{no}", headers=fwd).json()["alarms"]
    assert [(a["kind"], a["cleared_at"]) for a in alarms] == [("customs_rejected", None)] * 3

    fixed = client.put(f"/v1/waybills/{no}/customs", headers=fwd, json=customs())
    assert fixed.status_code == 200, fixed.text
    assert [(m["type"], m["app_type"], m["status"]) for m in fixed.json()["messages"][3:]] == [
        ("CEB505", "2", "QUEUED"),  # the correction
        ("CEB507", "1", "QUEUED"),  # filed again from the corrected data, after it
        ("CEB509", "1", "QUEUED"),
    ]
    delivery.deliver(container.db, clock, window)
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert [m["status"] for m in doc["messages"]] == ["REJECTED"] * 3 + ["ACCEPTED"] * 3
    alarms = client.get(f"/v1/waybills/{no}", headers=fwd).json()["alarms"]
    assert [a["kind"] for a in alarms] == ["customs_rejected"] * 3
    assert all(a["cleared_at"] is not None for a in alarms)


def test_the_directory_drop_hands_messages_over_as_files_and_reads_receipts(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock, tmp_path: Path
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    no = book(client, fwd, "9710", customs()).json()["waybill_no"]
    [msg] = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()["messages"]
    drop = DirectoryDrop(tmp_path)
    delivery.deliver(container.db, clock, drop)
    filed = tmp_path / "out" / f"{msg['id']}.xml"
    assert filed.read_bytes().startswith(b"<?xml")
    (tmp_path / "in").mkdir()
    receipt = messages.receipt_message("CEB505", msg["id"], "91511500MA62XBXB01", "120", "ok", clock.now())
    (tmp_path / "in" / "r1.xml").write_bytes(receipt)
    delivery.deliver(container.db, clock, drop)
    assert client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()["messages"][0]["status"] == "ACCEPTED"
    assert (tmp_path / "in" / "done" / "r1.xml").exists()


def test_a_replanned_booking_files_its_waybill_again_as_a_modification(
    client: TestClient, keys: Keys, admin: dict[str, str]
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    quote = client.post(
        "/v1/quotes",
        headers=fwd,
        json={
            "origin": "CNYIB",
            "destination": "PLLOD",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 8000, "volume_m3": 30, "equipment": "40HC"},
            "customs_mode": "9710",
        },
    ).json()
    option = min(
        (
            o
            for o in quote["options"]
            if any(leg["mode"] == "rail" and leg["service_id"] for leg in o["legs"])
        ),
        key=lambda o: float(o["cost"]["amount"]),
    )
    r = client.post(
        "/v1/bookings",
        headers=fwd,
        json={"quote_id": quote["id"], "option_id": option["id"], "customs": customs(consignee_country="PL")},
    )
    assert r.status_code == 201, r.text
    no = r.json()["waybill_no"]
    main = max((leg for leg in option["legs"] if leg["service_id"]), key=lambda leg: leg["distance_km"])
    d = client.post(
        "/v1/disruptions",
        headers=admin,
        json={"kind": "suspend", "service_id": main["service_id"], "reason": "customs test: trains held"},
    )
    assert d.status_code == 201, d.text
    try:
        replanned = [b for b in d.json()["bookings"] if b["waybill_no"] == no]
        assert replanned and replanned[0]["replanned"], replanned
        doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
        assert [(m["type"], m["app_type"]) for m in doc["messages"]] == [("CEB505", "1"), ("CEB505", "2")]
    finally:
        assert client.post(f"/v1/disruptions/{d.json()['id']}/lift", headers=admin).status_code == 200


def test_file_due_follows_the_event_log_inferred_confirmed_and_moved(
    client: TestClient, keys: Keys, container: Container, clock: FixedClock
) -> None:
    fwd = keys.headers(Role.FORWARDER)
    no = book(client, fwd, "9710", customs()).json()["waybill_no"]
    exit_node = client.get(f"/v1/waybills/{no}", headers=fwd).json()["itinerary"]["stops"]
    t = clock.now()

    def act(code: str, node: str, hours: int, inferred: bool = False) -> int:
        with container.db.session() as s:
            return events.append(
                s, no, kind="milestone", code=code, classifier="ACT", node_id=node,
                event_time=t + timedelta(hours=hours), recorded_time=t, inferred=inferred,
            )  # fmt: skip

    def file() -> int:
        with container.db.session() as s:
            return filing.file_due(s, no, t)

    border = next(s["node_id"] for s in exit_node if s["role"] == "border")
    gtot = act("GTOT", "YIB", 1)
    assert file() == 1  # CEB507
    assert file() == 0  # the same fact again files nothing
    cros = act("CROS", border, 90, inferred=True)
    assert file() == 0  # inferred: nothing until confirmed
    with container.db.session() as s:  # a reading confirms it (the log supersedes the inferred one)
        s.execute(update(waybill_events).where(waybill_events.c.id == cros).values(superseded_by=-9))
    act("CROS", border, 91)
    assert file() == 1  # CEB509
    with container.db.session() as s:  # a late reading moved the gate-out
        s.execute(update(waybill_events).where(waybill_events.c.id == gtot).values(superseded_by=-9))
    act("GTOT", "YIB", 2)
    assert file() == 1
    doc = client.get(f"/v1/waybills/{no}/customs", headers=fwd).json()
    assert [
        (m["type"], m["app_type"], m["trigger"]["milestone"] if m["trigger"] else None)
        for m in doc["messages"]
    ] == [
        ("CEB505", "1", None),
        ("CEB507", "1", "GTOT"),
        ("CEB509", "1", "CROS"),
        ("CEB507", "2", "GTOT"),  # the correction
    ]
