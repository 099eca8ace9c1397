"""Push: signed webhooks from the durable outbox with retries, and the Server-Sent-Events stream."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.container import Container
from kernel.clock import FixedClock
from kernel.identity import Role
from kernel.mqtt import Message
from kernel.settings import Settings
from logistics.ingest import process_batch
from logistics.webhook_delivery import deliver_due, httpx_sender
from logistics.webhooks import secret_box
from tests.conftest import TEST_MQTT_URL, Keys


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The test receiver listens on loopback: allowed as a receiver on the premises would be."""
    return Settings(database_url=database_url, mqtt_url=TEST_MQTT_URL, webhook_allow_hosts="127.0.0.1")


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail_first > 0:
                    outer.fail_first -= 1
                    self.send_response(503)
                else:
                    outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _moving_waybill(client: TestClient, h: dict[str, str]) -> tuple[str, str, list[dict[str, Any]]]:
    quote = client.post(
        "/v1/quotes",
        headers=h,
        json={
            "origin": "CNYIB",
            "destination": "DEDUI",
            "ready_at": "2027-03-01T06:00:00Z",
            "cargo": {"weight_kg": 900, "volume_m3": 3, "equipment": "LCL"},
            "customs_mode": "9610",
        },
    ).json()
    no = client.post(
        "/v1/bookings", headers=h, json={"quote_id": quote["id"], "option_id": quote["options"][0]["id"]}
    ).json()["waybill_no"]
    dev = f"dev-push-{no}"
    client.post("/v1/devices", headers=h, json={"device_id": dev, "kind": "container"})
    client.post(f"/v1/waybills/{no}/trackers", headers=h, json={"device_id": dev})
    stops = client.get(f"/v1/waybills/{no}", headers=h).json()["itinerary"]["stops"]
    return no, dev, stops


def test_webhooks_are_signed_retried_and_delivered_once(
    client: TestClient,
    keys: Keys,
    container: Container,
    clock: FixedClock,
) -> None:
    receiver = Receiver(fail_first=1)
    try:
        h = keys.headers(Role.FORWARDER)
        secret = "a-very-long-shared-secret"
        r = client.post(
            "/v1/webhooks",
            headers=h,
            json={"url": receiver.url, "events": ["waybill.status"], "secret": secret},
        )
        assert r.status_code == 201, r.text
        no, dev, stops = _moving_waybill(client, h)
        origin = stops[0]
        from datetime import datetime

        dep = datetime.fromisoformat(origin["planned_departure"].replace("Z", "+00:00"))
        clock.set(dep + timedelta(hours=2))
        # At the origin an hour before departure, then outside its fence longer than the exit dwell after it:
        # the gate-out (GTOT) and departure milestones move the status on, which is what the webhook reports.
        readings = [
            {
                "seq": 1,
                "ts": (dep - timedelta(hours=1)).isoformat(),
                "lat": origin["lat"],
                "lon": origin["lon"],
            },
            *(
                {
                    "seq": seq,
                    "ts": (dep + timedelta(hours=1, minutes=10 * seq)).isoformat(),
                    "lat": origin["lat"] + 0.1 * seq,
                    "lon": origin["lon"],
                }
                for seq in (2, 3)
            ),
        ]
        with container.db.session() as s:
            result = process_batch(
                s,
                [Message(f"xborder/v1/devices/{dev}/telemetry", json.dumps(r).encode(), 1) for r in readings],
                clock.now(),
            )
        assert result.changes and result.changes[0].status_changed
        assert result.changes[0].status != "BOOKED"
        send = httpx_sender(container.settings.webhook_targets)
        box = secret_box(container.settings.secret_key)
        with container.db.session() as s:
            first = deliver_due(s, clock.now(), send, box)
        assert first["failed"] >= 1 and not receiver.received  # 503: kept for a retry, not lost
        with container.db.session() as s:
            # backoff: not yet due
            assert deliver_due(s, clock.now(), send, box) == {"delivered": 0, "failed": 0}
        clock.advance(timedelta(minutes=5))
        with container.db.session() as s:
            second = deliver_due(s, clock.now(), send, box)
        assert second["delivered"] >= 1
        mine = [(hd, body) for hd, body in receiver.received if json.loads(body)["data"]["waybill_no"] == no]
        assert len(mine) == 1
        headers, body = mine[0]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-xborder-signature"] == expected
        assert json.loads(body)["event"] == "waybill.status"
        clock.advance(timedelta(hours=2))
        with container.db.session() as s:
            deliver_due(s, clock.now(), send, box)
        assert len([1 for _, b in receiver.received if json.loads(b)["data"]["waybill_no"] == no]) == 1
    finally:
        receiver.close()


def test_webhook_bad_input(client: TestClient, keys: Keys) -> None:
    h = keys.headers(Role.FORWARDER)
    r = client.post(
        "/v1/webhooks", headers=h, json={"url": "not a url", "events": ["waybill.status"], "secret": "x" * 20}
    )
    assert r.status_code == 422
    r = client.post(
        "/v1/webhooks",
        headers=h,
        json={"url": "https://example.test/h", "events": ["nope"], "secret": "x" * 20},
    )
    assert r.status_code == 422
    r = client.post(
        "/v1/webhooks",
        headers=h,
        json={"url": "https://example.test/h", "events": ["waybill.status"], "secret": "short"},
    )
    assert r.status_code == 422


def test_the_stream_sends_a_tenant_only_its_own_waybills(
    client: TestClient, keys: Keys, container: Container
) -> None:
    h = keys.headers(Role.FORWARDER)
    mine, _, _ = _moving_waybill(client, h)
    other, _, _ = _moving_waybill(client, keys.headers(Role.FORWARDER))
    broadcaster = container.broadcaster
    lines: list[str] = []

    def publish_later() -> None:
        import time

        time.sleep(0.5)
        broadcaster.on_mqtt(
            Message(
                f"xborder/v1/waybills/{other}/status",
                json.dumps({"waybill_no": other, "status": "IN_TRANSIT"}).encode(),
            )
        )
        broadcaster.on_mqtt(
            Message(
                f"xborder/v1/waybills/{mine}/status",
                json.dumps({"waybill_no": mine, "status": "IN_TRANSIT"}).encode(),
            )
        )

    threading.Thread(target=publish_later, daemon=True).start()
    with client.stream("GET", "/v1/stream", headers=h) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    data = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    assert data == [{"waybill_no": mine, "status": "IN_TRANSIT"}]
