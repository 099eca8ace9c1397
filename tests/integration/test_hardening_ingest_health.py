"""`/healthz` notices a telemetry ingest that does not work: disconnected, stopped, or stalled."""

from __future__ import annotations

import threading
import time
import uuid

from fastapi.testclient import TestClient

from api.container import Container
from api.runtime import BrokerChoice, Runtime
from kernel.mqtt import Message, PahoCommunicator
from logistics.ingest import BatchResult


def test_healthz_turns_503_when_the_ingest_loses_its_broker_or_stops(
    broker_url: str, client: TestClient, container: Container
) -> None:
    container.settings = container.settings.model_copy(
        update={"mqtt_client_prefix": f"h16h-{uuid.uuid4().hex[:8]}"}
    )
    runtime = Runtime(container, BrokerChoice(broker_url, None, ""))
    runtime.start_publisher()
    ingest = runtime.start_ingest(f"ingest-{uuid.uuid4().hex[:8]}")
    try:
        ok = client.get("/healthz")
        assert ok.status_code == 200, ok.text
        assert ok.json()["ingest"] == "ok" and ok.json()["status"] == "ok"

        ingest.comm.stop()  # the ingest's broker connection is gone (the publisher's is still up)
        down = client.get("/healthz")
        assert down.status_code == 503
        assert down.json()["ingest"] == "down: not connected to the broker"
        assert down.json()["mqtt"] == "ok" and down.json()["status"] == "degraded"

        ingest.stop()
        assert client.get("/healthz").json()["ingest"] == "down: not running"
    finally:
        runtime.stop()


def test_messages_waiting_behind_a_batch_that_never_ends_are_a_stall(
    broker_url: str, container: Container
) -> None:
    run = uuid.uuid4().hex[:8]  # a share group of its own: no other ingest session takes these messages
    container.settings = container.settings.model_copy(
        update={"mqtt_client_prefix": f"h16s-{run}", "ingest_share_group": f"h16s-{run}"}
    )
    runtime = Runtime(container, BrokerChoice(broker_url, None, ""))
    ingest = runtime.start_ingest(f"ingest-{uuid.uuid4().hex[:8]}")
    taken, release = threading.Event(), threading.Event()

    def stuck(batch: list[Message], received: object = None) -> BatchResult | None:
        taken.set()
        release.wait(30)
        return None

    ingest.handle = stuck  # type: ignore[method-assign]
    sender = PahoCommunicator(runtime.address(), f"h16s-sender-{uuid.uuid4().hex[:8]}").start()
    try:
        device = f"trk-{uuid.uuid4().hex[:8]}"
        topic = f"{container.settings.mqtt_topic_root}/devices/{device}/telemetry"
        sender.publish_and_wait(topic, b'{"seq": 1}')
        assert taken.wait(20), "the first batch is taken"
        sender.publish_and_wait(topic, b'{"seq": 2}')
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and ingest.liveness(stall_s=0) is None:
            time.sleep(0.05)  # until the second message has arrived behind the stuck batch
        assert ingest.liveness(stall_s=0) == "stalled: 1 messages waiting"
        assert ingest.liveness() is None  # a minute has not passed
    finally:
        release.set()
        sender.stop()
        runtime.stop()
