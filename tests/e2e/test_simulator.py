"""`xborder simulate` as a user runs it: it books shipments out of Yibin, registers and attaches a tracker to
each, and drives them over MQTT along their itineraries on the service clock until they have arrived."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, Server, start_server, stop_server

ARRIVED = {"ARRIVED", "AT_WAREHOUSE", "OUT_FOR_DELIVERY", "DELIVERED"}


@pytest.fixture
def fast_server(tmp_path: Path) -> Iterator[Server]:
    # 30,000x: Yibin to Vientiane (about 5 days including the wait for the train) in about 15 s, with
    # hourly readings: some 20 QoS 1 messages a second, which the embedded (amqtt) broker inside `serve` keeps
    # up with (it manages only a few dozen a second there); Mosquitto takes far more.
    s = start_server(tmp_path, clock_speed=30_000)
    yield s
    stop_server(s)


@pytest.mark.slow
def test_simulated_fleet_books_tracks_and_arrives(fast_server: Server, tmp_path: Path) -> None:
    server = fast_server
    key = server.key("forwarder")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "simulate",
            "--api",
            server.base,
            "--key",
            key,
            "--mqtt",
            server.mqtt_url,
            "--book",
            "2",
            "--to",
            "LAVTE",
            "--interval-minutes",
            "60",
            "--until-delivered",
            "--duration",
            "240",
            "--faults",
            "dup,reorder,gap",
            "--seed",
            "7",
            "--devices-file",
            str(tmp_path / "sim-devices.json"),
            "--client-id-prefix",
            f"e2e-{tmp_path.name[-8:]}-",
        ],
        env=server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["reason"] == "every waybill delivered", summary
    assert len(summary["booked"]) == 2 and summary["trackers"] == 2
    # every publish (a backlog upload carries several readings in one) acknowledged by the broker
    mqtt = summary["mqtt"]
    assert mqtt["acked"] == mqtt["sent"] > summary["publishes"] > 0 < summary["readings"]

    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        waybills = [http.get(f"/v1/waybills/{no}").json() for no in summary["booked"]]
    for wb in waybills:
        assert wb["status"] in ARRIVED, wb["status"]
        assert wb["trackers"] or wb["status"] == "DELIVERED"
        destination = wb["itinerary"]["stops"][-1]["node_id"]
        actual = [(m["code"], m["location"]) for m in wb["milestones"] if m["classifier"] == "ACT"]
        assert ("ARRI", destination) in actual, actual
        assert ("DEPA", wb["itinerary"]["stops"][0]["node_id"]) in actual, actual
        assert wb["position"] is not None
    creds = json.loads((tmp_path / "sim-devices.json").read_text())["devices"]
    assert len(creds) == 2 and all(c["password"] and c["last_seq"] > 0 for c in creds.values())
