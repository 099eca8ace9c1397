import json
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from iot_sim.api import ApiError, XborderApi
from iot_sim.clock import ServiceClock
from iot_sim.devices import DeviceStore
from iot_sim.fleet import SimConfig, Simulation, device_id_for, reefer_setpoint
from iot_sim.mqtt import FakeUplink

from .fake_api import T0, FakeXborder


class ManualTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(tmp_path: Path, fake: FakeXborder, **config):
    time = ManualTime()
    api = XborderApi("http://xb.test", "k-1", transport=fake.transport(), monotonic=time)
    uplink = FakeUplink()
    store = DeviceStore(tmp_path / "sim-devices.json")
    sim = Simulation(api, uplink, store, SimConfig(**config), clock=ServiceClock(time), monotonic=time)
    sim.sync_clock()
    return sim, uplink, store, time


def telemetry(uplink: FakeUplink, device: str | None = None):
    out = []
    for sender, topic, payload, qos, retain in uplink.published:
        if topic.endswith("/telemetry") and (device is None or f"/{device}/" in topic):
            assert qos == 1 and not retain
            out.append((sender, topic, json.loads(payload)))
    return out


def test_books_cheapest_option_registers_and_attaches_a_tracker(tmp_path):
    fake = FakeXborder()
    sim, uplink, store, _ = make(tmp_path, fake, seed=1)
    booked = sim.book(3)
    assert len(booked) == 3
    # like real forwarders, the fleet buys the cheapest way and the fastest way in turn
    assert fake.booked_options == ["o-cheap", "o-fast", "o-cheap"]
    for no in booked:
        device = device_id_for(no)
        assert fake.waybills[no]["trackers"] == [device]
        assert store.get(device).password == f"pw-{device}"
    quotes = [c[2] for c in fake.calls if c[1] == "/v1/quotes"]
    assert all(q["origin"] == "CNYIB" and q["ready_at"] == "2027-03-01T00:00:00Z" for q in quotes)
    # a reloaded store still has the credentials (the password is shown once by the API)
    reloaded = DeviceStore(tmp_path / "sim-devices.json").get(device_id_for(booked[0]))
    assert reloaded is not None and (reloaded.password or "").startswith("pw-")


def test_unreachable_destinations_are_skipped(tmp_path):
    fake = FakeXborder(
        unreachable=frozenset(
            {"PLLOD", "SGSIN", "LAVTE", "DEHAM", "HUBUD", "NLTLB", "VNHAN", "THBKK", "NLRTM"}
        )
    )
    sim, *_ = make(tmp_path, fake)
    booked = sim.book(2)
    assert all(q["destination"] == "DEDUI" for q in fake.quotes.values())
    assert len(booked) == 2


def test_no_destination_bookable_is_an_error(tmp_path):
    fake = FakeXborder(
        unreachable=frozenset(
            {"DEDUI", "PLLOD", "SGSIN", "LAVTE", "DEHAM", "HUBUD", "NLTLB", "VNHAN", "THBKK", "NLRTM"}
        )
    )
    sim, *_ = make(tmp_path, fake)
    with pytest.raises(ApiError):
        sim.book(1)


def test_existing_device_is_reused(tmp_path):
    fake = FakeXborder()
    fake.devices["trk-1"] = {"device_id": "trk-1"}
    sim, *_ = make(tmp_path, fake)
    assert sim.provision("trk-1", "container") == "trk-1"


def test_discovers_tracked_waybills_across_pages_only(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    fake.add_waybill("WB2")
    fake.add_waybill("WB3", trackers=["dev-3a", "dev-3b"])
    fake.add_waybill("WB4", trackers=["dev-4"], status="DELIVERED")
    sim, uplink, *_ = make(tmp_path, fake)
    sim.discover()
    assert sorted(sim.trackers) == ["dev-1", "dev-3a", "dev-3b"]
    assert set(uplink.devices) == {"dev-1", "dev-3a", "dev-3b"}


def test_tracker_cap(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    fake.add_waybill("WB3", trackers=["dev-3a", "dev-3b"])
    sim, *_ = make(tmp_path, fake, max_trackers=2)
    sim.discover()
    assert len(sim.trackers) == 2


def test_publishes_due_readings_on_the_service_clock(tmp_path):
    fake = FakeXborder(speed=3600.0)  # an hour of service time per real second
    fake.add_waybill("WB1", trackers=["dev-1"])
    sim, uplink, store, time = make(tmp_path, fake, interval=timedelta(minutes=30))
    sim.discover()
    due = sim.trackers["dev-1"].next_due
    assert T0 <= due < T0 + timedelta(minutes=30)  # the device's own phase within the interval
    assert sim.tick(sim.clock.now()) == (1 if due == T0 else 0)
    time.t += 3.0  # three service hours later
    sim.tick(sim.clock.now())
    readings = [p for _, _, p in telemetry(uplink, "dev-1")]
    expected = [
        due + i * timedelta(minutes=30)
        for i in range(7)
        if due + i * timedelta(minutes=30) <= T0 + timedelta(hours=3)
    ]
    assert [r["seq"] for r in readings] == list(range(1, len(expected) + 1))
    assert [r["ts"] for r in readings] == [e.isoformat().replace("+00:00", "Z") for e in expected]
    moving = [r for r in readings if r["speed_kmh"] > 0]
    assert moving and all(r["ts"] > "2027-03-01T02:00:00Z" for r in moving)  # departs at T0+2h


def test_phase_is_deterministic_per_seed_and_device(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1", "dev-2"])
    a, *_ = make(tmp_path / "a", fake, seed=4)
    b, *_ = make(tmp_path / "b", fake, seed=4)
    a.discover()
    b.discover()
    assert a.trackers["dev-1"].next_due == b.trackers["dev-1"].next_due
    assert a.trackers["dev-1"].next_due != a.trackers["dev-2"].next_due


def test_one_phase_for_every_device_when_asked(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1", "dev-2"])
    sim, *_ = make(tmp_path, fake, interval=timedelta(minutes=60), phase=timedelta(minutes=17))
    sim.discover()
    dues = {t.next_due for t in sim.trackers.values()}
    assert len(dues) == 1
    (due,) = dues
    assert due.minute == 17 and due.second == 0 and T0 <= due < T0 + timedelta(hours=1)


def _faulted(tmp_path, device: str, **config) -> list[tuple[int, str]]:
    """(seq, ts) of each reading one device publishes over two service days with skew and zero fixes."""
    fake = FakeXborder(speed=3600.0)
    fake.add_waybill("WB1", trackers=[device])
    sim, uplink, _, time = make(
        tmp_path, fake, interval=timedelta(minutes=60), phase=timedelta(minutes=17),
        faults=("skew", "zero"), fault_rates={"skew": 0.2, "zero": 0.2}, **config,
    )  # fmt: skip
    sim.discover()
    for _ in range(48):
        time.t += 1.0
        sim.tick(sim.clock.now())
    return [(p["seq"], p["ts"] if p["lat"] or p["lon"] else "0,0") for _, _, p in telemetry(uplink, device)]


def test_a_fault_seed_gives_every_device_the_same_faults_whatever_its_id(tmp_path):
    # A run that registers new devices (ids made unique per run) repeats its faults only this way.
    one = _faulted(tmp_path / "a", "sim-faulty-1f3a", seed=11, fault_seed=5)
    other = _faulted(tmp_path / "b", "sim-faulty-9c0d", seed=11, fault_seed=5)
    assert len(one) == 48 and one == other
    assert any(ts == "0,0" for _, ts in one) and any(not ts.startswith("2027-03-0") for _, ts in one)
    # Without it, the device id takes part: other ids, other faults.
    assert _faulted(tmp_path / "c", "sim-faulty-1f3a", seed=11) != _faulted(
        tmp_path / "d", "sim-faulty-9c0d", seed=11
    )


def test_seq_carries_on_after_a_restart(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    sim, uplink, store, time = make(tmp_path, fake)
    sim.discover()
    time.t += 2.0
    sim.tick(sim.clock.now())
    sim.shutdown()
    last = max(p["seq"] for _, _, p in telemetry(uplink))
    sim2, uplink2, *_ = make(tmp_path, fake)
    sim2.discover()
    time2 = sim2._monotonic
    time2.t += 1.0
    sim2.tick(sim2.clock.now())
    assert [p["seq"] for _, _, p in telemetry(uplink2)][0] == last + 1


def test_delivered_waybill_retires_its_tracker_offline(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    sim, uplink, *_ = make(tmp_path, fake)
    sim.discover()
    fake.waybills["WB1"]["status"] = "DELIVERED"
    sim.discover()
    assert sim.trackers == {}
    assert uplink.published[-1] == ("dev-1", "xborder/v1/devices/dev-1/status", b"offline", 1, True)


def test_until_delivered_waits_for_arrival_and_settling(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    sim, uplink, store, time = make(tmp_path, fake, settle=timedelta(hours=2))
    sim.discover()
    arrival = sim.trackers["dev-1"].model.stops[-1].arrival
    assert not sim.all_delivered(arrival + timedelta(hours=5))  # still BOOKED
    sim.trackers["dev-1"].status = "ARRIVED"
    assert not sim.all_delivered(arrival + timedelta(hours=1))
    assert sim.all_delivered(arrival + timedelta(hours=2))


def test_spoofed_readings_go_out_through_the_spoofers_client(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    fake.add_waybill("WB2", trackers=["dev-2"])
    sim, uplink, store, time = make(tmp_path, fake, faults=("spoof",), fault_rate=100.0)
    sim.discover()
    time.t += 1.0
    sim.tick(sim.clock.now())
    sim.shutdown()
    assert sim.summary.faults["spoof"] >= 2
    crossed = [(sender, topic) for sender, topic, _ in telemetry(uplink) if f"/{sender}/" not in topic]
    assert ("dev-1", "xborder/v1/devices/dev-2/telemetry") in crossed
    assert ("dev-2", "xborder/v1/devices/dev-1/telemetry") in crossed


def test_reefer_cargo_gets_a_temperature_probe(tmp_path):
    assert reefer_setpoint({"equipment": "40RF", "temperature": [2.0, 8.0]}) == 5.0
    assert reefer_setpoint({"equipment": "40RF", "temperature": None}) == 5.0
    assert reefer_setpoint({"equipment": "40HC", "temperature": None}) is None
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"], cargo={"equipment": "40RF", "temperature": [-20, -16]})
    sim, uplink, _, time = make(tmp_path, fake)
    sim.discover()
    time.t += 1.0
    sim.tick(sim.clock.now())
    reading = telemetry(uplink)[0][2]
    assert -19 < reading["temp_c"] < -17


def test_run_stops_on_the_event_and_says_offline(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    sim, uplink, *_ = make(tmp_path, fake)
    stop = threading.Event()
    stop.set()
    summary = sim.run(stop)
    assert summary.reason == "stopped" and uplink.closed


def test_run_with_until_delivered_and_nothing_tracked_ends(tmp_path):
    fake = FakeXborder()
    sim, uplink, *_ = make(tmp_path, fake, until_delivered=True)
    summary = sim.run(threading.Event())
    assert summary.reason == "no tracked waybill to simulate"


def test_only_named_waybills(tmp_path):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    fake.add_waybill("WB2", trackers=["dev-2"])
    sim, *_ = make(tmp_path, fake, waybills=frozenset({"WB2"}))
    sim.discover()
    assert list(sim.trackers) == ["dev-2"]


def test_store_file_is_private(tmp_path):
    store = DeviceStore(tmp_path / "d.json")
    store.set_last_seq("x", 3)
    store.save()
    assert (tmp_path / "d.json").stat().st_mode & 0o077 == 0
    assert DeviceStore(tmp_path / "d.json").last_seq("x") == 3


def test_clock_follows_healthz(tmp_path):
    fake = FakeXborder(speed=60.0)
    sim, _, _, time = make(tmp_path, fake)
    time.t += 10
    assert sim.clock.now() == T0 + timedelta(minutes=10)
    assert sim.clock.real_seconds_until(T0 + timedelta(minutes=11)) == pytest.approx(1.0)


def test_an_api_outage_mid_run_is_survived(tmp_path, monkeypatch):
    fake = FakeXborder()
    fake.add_waybill("WB1", trackers=["dev-1"])
    sim, uplink, _, time = make(tmp_path, fake)
    sim.discover()

    def broken(request):
        raise httpx.ReadError("connection reset by peer", request=request)

    monkeypatch.setattr(fake, "handle", broken)
    with pytest.raises(ApiError):
        sim.sync_clock()
    sim._guard(sim.sync_clock)
    sim._guard(sim.discover)
    time.t += 2.0
    assert sim.tick(sim.clock.now()) >= 1  # telemetry goes on while the API is away
    monkeypatch.undo()  # the API is back
    fake.waybills["WB1"]["status"] = "CANCELLED"
    sim._guard(sim.discover)
    assert sim.trackers == {}


def test_bookings_carry_customs_data_and_go_without_where_the_mode_cannot_declare(tmp_path):
    fake = FakeXborder()
    refused: list[str] = []
    handle = fake.handle

    def no_warehouse_at_the_first(request):  # the service refuses the first booking's customs block (9810)
        if request.method == "POST" and request.url.path == "/v1/bookings":
            body = json.loads(request.content)
            if "customs" in body and not refused:
                refused.append(body["quote_id"])
                return httpx.Response(
                    422,
                    json={
                        "type": "about:blank",
                        "title": "Invalid input",
                        "status": 422,
                        "detail": "the booking's customs data cannot be declared",
                        "errors": [
                            {"field": "customs_mode", "message": "9810 must end at an overseas warehouse"}
                        ],
                    },
                    headers={"content-type": "application/problem+json"},
                )
        return handle(request)

    fake.handle = no_warehouse_at_the_first  # type: ignore[method-assign]
    sim, *_ = make(tmp_path, fake, seed=1)
    assert len(sim.book(2)) == 2
    bookings = [c[2] for c in fake.calls if c[1] == "/v1/bookings"]
    assert ["customs" in b for b in bookings] == [False, True]  # the refused one again without it; then with
    block = bookings[1]["customs"]
    assert block["goods"][0]["hs_code"].isdigit() and len(block["goods"][0]["hs_code"]) == 10
    assert block["logistics_enterprise"]["code"] == "91511500MA62XBXB01"
