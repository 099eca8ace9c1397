"""The issue's bad-input list, end to end through the broker `serve` uses (the embedded one by default): each
unusable payload is dead-lettered with its reason on the device's own dead-letter topic (which the device may
read), counted in `/metrics`, and the consumer keeps going."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import timedelta

import httpx
import paho.mqtt.client as mqtt
from sqlalchemy import update

from kernel.db import make_engine
from logistics.tables import tracker_attachments, waybills
from tests.e2e.conftest import Server
from tests.e2e.test_thin_path import _mqtt, _subscribe


def _deadletters(server: Server) -> float:
    text = httpx.get(server.base + "/metrics").text
    match = re.search(r'^xborder_telemetry_messages_total\{outcome="deadletter"\} (\S+)$', text, re.M)
    assert match, text[:2000]
    return float(match.group(1))


def _book(http: httpx.Client, server: Server) -> dict:
    quote = http.post(
        "/v1/quotes",
        json={
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": (server.now() + timedelta(days=3)).isoformat(),
            "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"},
            "customs_mode": "9810",
        },
    ).json()
    r = http.post("/v1/bookings", json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"]})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _tracker(http: httpx.Client, waybill_no: str) -> dict:
    device_id = f"bad-{uuid.uuid4().hex[:10]}"
    creds = http.post("/v1/devices", json={"device_id": device_id, "kind": "container"}).json()
    assert http.post(f"/v1/waybills/{waybill_no}/trackers", json={"device_id": device_id}).status_code == 201
    return dict(creds)


def test_every_kind_of_bad_input_is_dead_lettered_with_its_reason_and_counted(server: Server) -> None:
    http = httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {server.key('forwarder')}"}, timeout=30
    )
    booking = _book(http, server)
    creds = _tracker(http, booking["waybill_no"])
    device_id = creds["device_id"]
    topic = f"xborder/v1/devices/{device_id}/telemetry"

    dead: list[dict] = []
    got = threading.Condition()

    def on_message(_c: object, _u: object, m: mqtt.MQTTMessage) -> None:
        with got:
            dead.append(json.loads(m.payload))
            got.notify_all()

    # The tracker itself listens to its own dead letters, with its own credentials.
    listener = _mqtt(server.mqtt_url, f"{device_id}-dl", device_id, creds["password"])
    listener.on_message = on_message
    _subscribe(listener, f"xborder/v1/deadletter/{device_id}")
    pub = listener  # one session per device: the broker runs it under the device id, whatever client id
    counted = _deadletters(server)
    at = server.now().replace(microsecond=0)
    good = {"ts": at.isoformat().replace("+00:00", "Z"), "lat": 28.77, "lon": 104.63}
    cases: list[tuple[bytes, str]] = [
        (b"{not json", "JSON"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (json.dumps({"seq": 1, "ts": good["ts"]}).encode(), "missing required field 'lat'"),
        (json.dumps({**good, "seq": "one"}).encode(), "seq"),
        (json.dumps({**good, "seq": 2, "lat": "north"}).encode(), "lat"),
        (b"42", "object"),
        (json.dumps([{**good, "seq": 3, "pad": "x" * 300_000}]).encode(), "exceeds the limit"),
        (json.dumps([{**good, "seq": 4}, {**good, "seq": 5, "lon": 999}]).encode(), "element 1: "),
    ]
    try:
        for payload, _ in cases:
            pub.publish(topic, payload, qos=1).wait_for_publish(10)
        # The consumer keeps going: a good reading after all that is taken.
        pub.publish(topic, json.dumps({**good, "seq": 6}).encode(), qos=1).wait_for_publish(10)
        with got:
            got.wait_for(lambda: len(dead) >= len(cases), timeout=30)
        reasons = [d["reason"] for d in dead]
        assert len(reasons) == len(cases), reasons
        for (_, expected), reason in zip(cases, reasons, strict=True):
            assert expected.lower() in reason.lower(), (expected, reason)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _deadletters(server) < counted + len(cases):
            time.sleep(0.2)
        assert _deadletters(server) == counted + len(cases)
        device = http.get(f"/v1/devices/{device_id}").json()
        assert device["last_seq"] == 6, device  # seq 4 (the good element) and 6 were stored
        assert httpx.get(server.base + "/healthz").json()["status"] == "ok"

        # A closed waybill takes no more readings: cancelled (tracker still attached) ...
        assert http.post(f"/v1/bookings/{booking['id']}/cancel").status_code == 200
        pub.publish(topic, json.dumps({**good, "seq": 7}).encode(), qos=1).wait_for_publish(10)
        # ... and delivered (as tracking leaves it: DELIVERED, the tracker detached).
        other = _book(http, server)
        creds2 = _tracker(http, other["waybill_no"])
        delivered_at = server.now()  # (not inside the transaction: SQLite would make /healthz wait for it)
        engine = make_engine(server.env["XB_DATABASE_URL"])
        with engine.begin() as c:
            c.execute(
                update(waybills)
                .where(waybills.c.waybill_no == other["waybill_no"])
                .values(status="DELIVERED")
            )
            c.execute(
                update(tracker_attachments)
                .where(tracker_attachments.c.waybill_no == other["waybill_no"])
                .values(detached_at=delivered_at)
            )
        engine.dispose()
        late: list[dict] = []
        listener2 = _mqtt(
            server.mqtt_url, f"{creds2['device_id']}-dl", creds2["device_id"], creds2["password"]
        )
        listener2.on_message = lambda _c, _u, m: late.append(json.loads(m.payload))
        _subscribe(listener2, f"xborder/v1/deadletter/{creds2['device_id']}")
        pub2 = listener2
        late_topic = f"xborder/v1/devices/{creds2['device_id']}/telemetry"
        pub2.publish(late_topic, json.dumps({**good, "seq": 1}).encode(), qos=1).wait_for_publish(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (len(dead) <= len(cases) or not late):
            time.sleep(0.1)
        assert f"waybill {booking['waybill_no']} is CANCELLED" in dead[len(cases)]["reason"], dead
        assert late and "not attached" in late[0]["reason"], late
        while time.monotonic() < deadline and _deadletters(server) < counted + len(cases) + 2:
            time.sleep(0.2)
        assert _deadletters(server) == counted + len(cases) + 2
        assert dead[-1] == dead[len(cases)], "nobody else's dead letters reach this tracker"
        for client in (listener2,):
            client.disconnect()
            client.loop_stop()
        assert http.get(f"/v1/devices/{creds2['device_id']}").json()["last_seq"] is None
    finally:
        for client in (listener,):
            client.disconnect()
            client.loop_stop()
        http.close()
