"""The waybill page charts the readings stored before it was opened (not only what the stream delivers
while it is open), from GET /v1/waybills/{no}/readings."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.browser.conftest import Server, sign_in
from tests.browser.test_map_overview_i18n import QUOTE_REEFER

pytestmark = pytest.mark.usefixtures("chromium_executable")


def publish_telemetry(server: Server, creds: dict[str, Any], readings: list[dict[str, Any]]) -> None:
    """Publish readings as the tracker does, with its own MQTT credentials (QoS 1, in order)."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"xb-tracker-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv311
    )
    client.username_pw_set(creds["username"], creds["password"])
    client.connect("127.0.0.1", server.mqtt_port)
    client.loop_start()
    try:
        for r in readings:
            topic = f"xborder/v1/devices/{creds['username']}/telemetry"
            client.publish(topic, json.dumps(r), qos=1).wait_for_publish(10)
    finally:
        # Disconnect while the network loop runs, so that the loop closes the socket before it stops.
        client.disconnect()
        client.loop_stop()


def test_the_condition_chart_shows_readings_stored_before_the_page_opened(page: Any, server: Server) -> None:
    key = server.key("forwarder")
    with server.api(key) as api:
        quote = api.post("/v1/quotes", json=QUOTE_REEFER)
        assert quote.status_code == 201, quote.text
        option = quote.json()["options"][0]
        booking = api.post("/v1/bookings", json={"quote_id": quote.json()["id"], "option_id": option["id"]})
        assert booking.status_code == 201, booking.text
        no = booking.json()["waybill_no"]
        dev = f"hist-{no}".lower()
        device = api.post("/v1/devices", json={"device_id": dev, "kind": "reefer"})
        assert device.status_code == 201, device.text
        assert api.post(f"/v1/waybills/{no}/trackers", json={"device_id": dev}).status_code == 201
        origin = api.get(f"/v1/waybills/{no}").json()["itinerary"]["stops"][0]
        temps = (4.0, 5.5, 9.5)
        readings = [
            {
                "seq": i + 1,
                "ts": f"2027-02-28T2{i}:00:00Z",
                "lat": origin["lat"],
                "lon": origin["lon"],
                "temp_c": temp,
                "battery_pct": 90 - i,
            }
            for i, temp in enumerate(temps)
        ]
        publish_telemetry(server, device.json(), readings)
        deadline = time.monotonic() + 60
        stored: list[Any] = []
        while time.monotonic() < deadline and len(stored) < len(readings):
            stored = api.get(f"/v1/waybills/{no}/readings").json()["items"]
            time.sleep(0.2)
        assert [r["temp_c"] for r in stored] == list(temps)
    sign_in(page, key)
    page.goto(server.base + f"/#/waybills/{no}")
    chart = page.locator("#condition svg.line-chart").first
    chart.wait_for()
    assert chart.locator("path.series").count() == 1
    assert "9.5 °C" in page.locator("#condition").inner_text()  # the latest stored reading
