"""The thin path through the product: quote, book, attach a tracker, publish telemetry, see it arrive."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.e2e.conftest import Server


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _mqtt(url: str, client_id: str, username: str | None = None, password: str | None = None) -> mqtt.Client:
    """A client of the broker: as `username` if given, else as the credentials in `url` (if any)."""
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 1883
    proto = MQTTProtocolVersion.MQTTv311 if u.scheme == "mqtt311" else MQTTProtocolVersion.MQTTv5
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=proto)
    if username is None and u.username:
        username, password = u.username, u.password
    if username:
        client.username_pw_set(username, password)
    client.connect(host, int(port))
    client.loop_start()
    return client


def _subscribe(client: mqtt.Client, topic: str) -> None:
    """Subscribe and wait for the broker's SUBACK, so nothing published after this is missed."""
    import threading

    acked = threading.Event()
    client.on_subscribe = lambda *_: acked.set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rc, _mid = client.subscribe(topic, qos=1)
        if rc == mqtt.MQTT_ERR_SUCCESS and acked.wait(5):
            return
        time.sleep(0.1)  # not connected yet
    raise AssertionError(f"could not subscribe to {topic}")


def _positions(stops: list[dict], step: timedelta) -> list[tuple[datetime, float, float]]:
    """Fixes along the planned stops: dwell at each stop, straight lines between them."""
    out: list[tuple[datetime, float, float]] = []
    for a, b in zip(stops, stops[1:], strict=False):
        t0 = _dt(a["planned_departure"])
        t1 = _dt(b["planned_arrival"])
        t = t0
        while t < t1:
            f = (t - t0) / (t1 - t0)
            out.append((t, a["lat"] + f * (b["lat"] - a["lat"]), a["lon"] + f * (b["lon"] - a["lon"])))
            t += step
        out.append((t1, b["lat"], b["lon"]))
        if b.get("planned_departure"):
            out.append((_dt(b["planned_departure"]), b["lat"], b["lon"]))
    first = stops[0]
    dep = _dt(first["planned_departure"])
    return [(dep - timedelta(hours=1), first["lat"], first["lon"])] + out


def test_quote_book_track_arrive(server: Server) -> None:
    fwd = {"Authorization": f"Bearer {server.key('forwarder')}"}
    http = httpx.Client(base_url=server.base, headers=fwd, timeout=30)
    ready = server.now() + timedelta(days=3)
    r = http.post(
        "/v1/quotes",
        json={
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": ready.isoformat(),
            "cargo": {"weight_kg": 12000, "volume_m3": 60, "equipment": "40HC"},
            "customs_mode": "9810",
        },
    )
    assert r.status_code == 201, r.text
    quote = r.json()
    assert quote["options"], "a quote out of Yibin to Duisburg has options"
    option = min(quote["options"], key=lambda o: o["transit_hours"])
    r = http.post(
        "/v1/bookings",
        json={"quote_id": quote["id"], "option_id": option["id"]},
        headers={"Idempotency-Key": f"e2e-{quote['id']}"},
    )
    assert r.status_code == 201, r.text
    waybill_no = r.json()["waybill_no"]
    device_id = f"e2e-{waybill_no}"
    creds = http.post("/v1/devices", json={"device_id": device_id, "kind": "container"}).json()
    assert http.post(f"/v1/waybills/{waybill_no}/trackers", json={"device_id": device_id}).status_code == 201

    wb = http.get(f"/v1/waybills/{waybill_no}").json()
    assert wb["status"] == "BOOKED"
    assert any(m["classifier"] == "PLN" for m in wb["milestones"])
    stops = wb["itinerary"]["stops"]

    dead: list[dict] = []
    # The device itself may read its own dead letters (and nobody else's).
    sub = _mqtt(server.mqtt_url, f"e2e-dl-{waybill_no}", creds.get("username"), creds.get("password"))
    sub.on_message = lambda c, u, m: dead.append(json.loads(m.payload))
    _subscribe(sub, f"xborder/v1/deadletter/{device_id}")
    pub = _mqtt(server.mqtt_url, device_id, creds.get("username"), creds.get("password"))
    fixes = _positions(stops, timedelta(hours=3))
    deadline = time.monotonic() + 120
    for seq, (t, lat, lon) in enumerate(fixes, start=1):
        while server.now() < t:  # publish each fix once the service clock has reached its time
            assert time.monotonic() < deadline, "service clock too slow for the journey"
            time.sleep(0.02)
        info = pub.publish(
            f"xborder/v1/devices/{device_id}/telemetry",
            json.dumps(
                {
                    "seq": seq,
                    "ts": t.isoformat().replace("+00:00", "Z"),
                    "lat": lat,
                    "lon": lon,
                    "speed_kmh": 50.0,
                    "accuracy_m": 10,
                }
            ),
            qos=1,
        )
        info.wait_for_publish(10)
    # Wait for the ingest to apply everything.
    final = None
    while time.monotonic() < deadline:
        final = http.get(f"/v1/waybills/{waybill_no}").json()
        if final["status"] == "ARRIVED":
            break
        time.sleep(0.3)
    assert final is not None
    # no warehouse on the way: arriving at the destination makes it ARRIVED (DELIVERED only after a warehouse)
    assert final["status"] == "ARRIVED", (
        final["status"],
        server.log.read_text()[-3000:],
    )
    actual = [m for m in final["milestones"] if m["classifier"] == "ACT"]
    codes = {m["code"] for m in actual}
    assert {"DEPA", "ARRI"} <= codes
    assert final["position"] is not None
    assert any(m["location"] == stops[-1]["node_id"] and m["code"] == "ARRI" for m in actual)
    assert not dead, dead
    events = http.get(f"/v1/waybills/{waybill_no}/events").json()["items"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    metrics = httpx.get(server.base + "/metrics").text
    assert 'xborder_telemetry_messages_total{outcome="accepted"}' in metrics
    batches = re.search(r"^xborder_ingest_batch_seconds_count (\S+)$", metrics, re.M)
    assert batches is not None and float(batches.group(1)) >= 1  # each committed batch is timed
    http.close()
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()


def test_bad_input_over_mqtt_is_dead_lettered(server: Server) -> None:
    dead: list[dict] = []
    sub = _mqtt(server.service_url, "e2e-dl-bad")
    # Only dead letters: the embedded broker (amqtt) also hands wildcard subscribers some retained messages
    # of other topics.
    sub.on_message = lambda c, u, m: (
        dead.append({"topic": m.topic, **json.loads(m.payload)}) if "/deadletter/" in m.topic else None
    )
    _subscribe(sub, "xborder/v1/deadletter/#")
    # As the service: a broker with the device ACL lets no unregistered device publish at all; the ingest's
    # own check is what stands behind it.
    pub = _mqtt(server.service_url, "e2e-bad-publisher")
    pub.publish("xborder/v1/devices/ghost-1/telemetry", b"{not json", qos=1).wait_for_publish(5)
    pub.publish(
        "xborder/v1/devices/ghost-2/telemetry",
        json.dumps({"seq": 1, "ts": "2027-03-01T00:00:00Z", "lat": 1, "lon": 2}),
        qos=1,
    ).wait_for_publish(5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(dead) < 2:
        time.sleep(0.1)
    reasons = {d["topic"].rsplit("/", 1)[-1]: d["reason"] for d in dead}
    assert "ghost-1" in reasons and "JSON" in reasons["ghost-1"].upper()
    assert "ghost-2" in reasons and "unregistered" in reasons["ghost-2"]
    assert httpx.get(server.base + "/healthz").json()["status"] == "ok", "the consumer keeps running"
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
