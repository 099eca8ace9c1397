"""The simulator's orchestration: book shipments, provision trackers, follow the service clock and publish.

One thread does everything: it re-syncs the service clock from `GET /healthz` every few seconds, rediscovers
tracked waybills through `GET /v1/waybills`, publishes every reading that has come due on the service clock
(through the fault chain), and lets the MQTT fleet move bytes while it waits for the next one.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from iot_sim.api import ApiError, XborderApi
from iot_sim.clock import ServiceClock
from iot_sim.customs import CustomsClerk, customs_block
from iot_sim.devices import DeviceCredentials, DeviceStore
from iot_sim.faults import (
    DEFAULT_RATES,
    Emission,
    Injector,
    build_chain,
    feed_chain,
    flush_chain,
    telemetry_topic,
)
from iot_sim.motion import Stop, build_stops, journey_over, stops_from_legs
from iot_sim.mqtt import Uplink
from iot_sim.readings import TrackerModel, first_due, rfc3339

log = logging.getLogger("xborder.simulate")

ORIGIN = "CNYIB"
# Destinations out of Yibin (UN/LOCODEs of nodes in the reference network), tried in turn.
DESTINATIONS = ("DEDUI", "PLLOD", "SGSIN", "LAVTE", "DEHAM", "HUBUD", "NLTLB", "VNHAN", "THBKK", "NLRTM")
FLEET_STREAM = "*"  # the fault chains' key in place of the device id under `SimConfig.fault_seed`
TERMINAL = frozenset({"DELIVERED", "CANCELLED"})
ARRIVED = frozenset({"ARRIVED", "AT_WAREHOUSE", "OUT_FOR_DELIVERY", "DELIVERED", "CANCELLED"})

# Cargo the simulator books: (equipment, weight kg, volume m3, temperature range degC or None)
CARGO_MIX: tuple[tuple[str, float, float, tuple[float, float] | None], ...] = (
    ("40HC", 12_000.0, 60.0, None),
    ("40HC", 9_500.0, 55.0, None),
    ("20GP", 8_000.0, 28.0, None),
    ("40RF", 10_000.0, 55.0, (2.0, 8.0)),
)
SHIPPERS = (
    "Yibin Lingang Trading Co., Ltd.",
    "Sichuan Yibin Tea Export Co.",
    "Yibin Sanjiang Electronics Co.",
    "Cuiping Bamboo Products Co.",
)
CONSIGNEES = {
    "DEDUI": "Rhein-Ruhr Distribution GmbH",
    "PLLOD": "Lodz Cross-Border Fulfilment Sp. z o.o.",
    "SGSIN": "Lion City E-Commerce Pte. Ltd.",
    "LAVTE": "Vientiane Trade Hub Co.",
    "DEHAM": "Elbe Overseas Warehouse GmbH",
}


@dataclass(frozen=True)
class SimConfig:
    interval: timedelta = timedelta(minutes=30)
    phase: timedelta | None = None  # when every device reports within the interval (None: each its own)
    faults: tuple[str, ...] = ()
    fault_rates: Mapping[str, float] = field(default_factory=dict)  # chance per reading, overriding defaults
    fault_rate: float = 1.0
    seed: int = 0
    # Seeds every device's fault chain alone (None: `seed` and the device id do): the same faults for devices
    # whatever their ids, which a run that registers new devices each time needs to be repeatable.
    fault_seed: int | None = None
    max_trackers: int | None = None
    waybills: frozenset[str] = frozenset()  # only these (empty: every tracked waybill the key sees)
    until_delivered: bool = False
    duration_s: float | None = None
    sync_every_s: float = 5.0
    discover_every_s: float = 10.0
    recheck_untracked_s: float = 60.0
    settle: timedelta = timedelta(hours=2)  # --until-delivered: time parked at destination once ARRIVED
    max_catchup: int = 20  # readings per device per tick when the loop falls behind the service clock
    gap_hours: float = 6.0
    report_every_s: float = 30.0
    destinations: tuple[str, ...] = DESTINATIONS  # --book: UN/LOCODEs or node ids, tried in turn


@dataclass
class Tracker:
    device_id: str
    waybill_no: str
    model: TrackerModel
    chain: list[Injector]
    next_due: datetime
    status: str = "BOOKED"


@dataclass
class Summary:
    readings: int = 0
    publishes: int = 0
    trackers: int = 0
    booked: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)  # episodes injected, by fault
    reason: str = ""


def device_id_for(waybill_no: str) -> str:
    """The tracker id the simulator gives a waybill it books (letters, digits, '-' only)."""
    return "trk-" + re.sub(r"[^a-z0-9-]+", "-", waybill_no.lower()).strip("-")


def reefer_setpoint(cargo: Mapping[str, Any] | None) -> float | None:
    """The middle of the cargo's temperature range, 5 degC for a reefer without one, None for dry cargo."""
    if not cargo:
        return None
    temperature = cargo.get("temperature")
    if isinstance(temperature, list | tuple) and len(temperature) == 2:
        return (float(temperature[0]) + float(temperature[1])) / 2.0
    if isinstance(temperature, int | float):
        return float(temperature)
    if isinstance(temperature, dict) and {"min_c", "max_c"} <= set(temperature):
        return (float(temperature["min_c"]) + float(temperature["max_c"])) / 2.0
    return 5.0 if cargo.get("equipment") == "40RF" else None


def choose_option(options: Sequence[Mapping[str, Any]], prefer: str = "cheapest") -> list[Mapping[str, Any]]:
    """Options in the order the simulator tries them: the preferred label first, then as listed."""
    preferred = [o for o in options if prefer in (o.get("labels") or [])]
    return preferred + [o for o in options if o not in preferred]


class Simulation:
    def __init__(
        self,
        api: XborderApi,
        uplink: Uplink,
        store: DeviceStore,
        config: SimConfig,
        *,
        clock: ServiceClock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.uplink = uplink
        self.store = store
        self.config = config
        self.clock = clock or ServiceClock(monotonic)
        self._monotonic = monotonic
        self.trackers: dict[str, Tracker] = {}
        self._untracked: dict[str, float] = {}  # waybill -> when we last found no tracker on it
        self._skipped: set[str] = set()  # waybills we cannot simulate (no usable itinerary)
        self._nodes: dict[str, dict[str, Any]] | None = None
        self.summary = Summary()
        self.customs_clerk = CustomsClerk(api)  # corrects the demo's rejected declarations

    # -- the service clock
    def sync_clock(self) -> None:
        health = self.api.health()
        speed = health.clock_speed
        if speed is None:
            if not self.clock.synced:
                log.warning("GET /healthz reports no clock_speed; assuming real time (1x)")
            speed = 1.0
        # No latency compensation: the service stamps `now` as it answers, and a clock that runs a little
        # behind only makes readings arrive a little after their fix time (as they do from real trackers),
        # while one that runs ahead (at 30,000x, 100 ms is 50 minutes) makes them "from the future".
        self.clock.sync(health.now, speed)

    # -- booking and provisioning
    def book(self, count: int) -> list[str]:
        """Book `count` shipments out of Yibin to a mix of destinations, each with its own tracker."""
        rng = random.Random(f"{self.config.seed}/book")
        booked: list[str] = []
        destinations = self.config.destinations or DESTINATIONS
        start = rng.randrange(len(destinations))
        for i in range(count):
            cargo = CARGO_MIX[rng.randrange(len(CARGO_MIX))]
            shipper = SHIPPERS[rng.randrange(len(SHIPPERS))]
            for k in range(len(destinations)):
                destination = destinations[(start + i + k) % len(destinations)]
                # Like real forwarders, some buy the cheapest way and some the fastest.
                prefer = "fastest" if i % 2 else "cheapest"
                waybill_no = self._book_one(destination, cargo, shipper, prefer)
                if waybill_no is not None:
                    booked.append(waybill_no)
                    kind = "reefer" if cargo[3] is not None else "container"
                    device_id = self.provision(device_id_for(waybill_no), kind)
                    self.api.attach_tracker(waybill_no, device_id)
                    log.info("booked %s to %s (%s), tracker %s", waybill_no, destination, cargo[0], device_id)
                    break
            else:
                raise ApiError(422, f"no destination out of {ORIGIN} could be booked")
        self.summary.booked.extend(booked)
        return booked

    def _book_one(
        self,
        destination: str,
        cargo: tuple[str, float, float, tuple[float, float] | None],
        shipper: str,
        prefer: str = "cheapest",
    ) -> str | None:
        # A quote whose option expired or whose first departure left before the booking came (at 30,000x a
        # second is eight hours) is quoted again, as the 409 asks a forwarder to.
        for _attempt in range(3):
            waybill_no, requote = self._quote_and_book(destination, cargo, shipper, prefer)
            if not requote:
                return waybill_no
        return None

    def _quote_and_book(
        self,
        destination: str,
        cargo: tuple[str, float, float, tuple[float, float] | None],
        shipper: str,
        prefer: str,
    ) -> tuple[str | None, bool]:
        """(waybill number or None, whether a re-quote may help)."""
        equipment, weight, volume, temperature = cargo
        ready = self.clock.now().replace(microsecond=0)
        body = {
            "origin": ORIGIN,
            "destination": destination,
            "ready_at": rfc3339(ready),
            "deliver_by": None,
            "cargo": {
                "weight_kg": weight,
                "volume_m3": volume,
                "equipment": equipment,
                "dangerous_goods": False,
                "temperature": list(temperature) if temperature else None,
            },
            "customs_mode": "9810",
            "max_options": 8,
        }
        try:
            quote = self.api.quote(body)
        except ApiError as exc:
            if exc.status in (404, 409, 422):
                log.info("no quote %s -> %s for %s: %s", ORIGIN, destination, equipment, exc.detail)
                return None, False
            raise
        stale = False
        for option in choose_option(quote.get("options", []), prefer):
            order: dict[str, Any] = {
                "quote_id": quote["id"],
                "option_id": option["id"],
                "shipper": {"name": shipper, "city": "Yibin", "country": "CN"},
                "consignee": {"name": CONSIGNEES.get(destination, f"Consignee at {destination}")},
                "references": [f"SIM-{self.config.seed}"],
                "customs": customs_block(shipper, destination, weight),
            }
            declared: dict[str, Any] | None = order["customs"]
            try:
                try:
                    booking = self.api.book(order)
                except ApiError as exc:
                    fields = [str(e.get("field", "")) for e in exc.problem.get("errors") or []]
                    if exc.status != 422 or not fields or not all(f.startswith("customs") for f in fields):
                        raise
                    # 9810 declares only what ends at an overseas warehouse: book it without declarations
                    log.info("no customs declarations for %s: %s", destination, exc.detail)
                    booking, declared = (
                        self.api.book({k: v for k, v in order.items() if k != "customs"}),
                        None,
                    )
            except ApiError as exc:
                if exc.status == 409:  # a departure filled up, or the quote went stale: the next option
                    kind = str(exc.problem.get("type", "")).rsplit("/", 1)[-1]
                    stale = stale or kind in ("quote-expired", "departure-left")
                    log.info("option %s not booked: %s", option["id"], exc.detail)
                    continue
                raise
            self.customs_clerk.booked(str(booking["waybill_no"]), declared)
            return str(booking["waybill_no"]), False
        return None, stale

    def provision(self, device_id: str, kind: str) -> str:
        """Register the device (keeping its credentials locally); an existing one is reused."""
        created = self.api.register_device(device_id, kind, int(self.config.interval.total_seconds()))
        if created is not None:
            self.store.put(
                DeviceCredentials(
                    device_id=device_id,
                    username=created.get("username"),
                    password=created.get("password"),
                    topic=created.get("topic") or telemetry_topic(device_id),
                    kind=kind,
                )
            )
        elif self.store.get(device_id) is None:
            log.warning(
                "device %s exists but its password is not in %s; connecting without it "
                "(a broker with the device ACL refuses that: re-register the device or restore the file)",
                device_id,
                self.store.path,
            )
        return device_id

    # -- discovery
    def discover(self) -> None:
        """Pick up tracked waybills, follow their status, retire trackers of finished ones."""
        now_real = self._monotonic()
        wanted = self.config.waybills
        items = (
            [self.api.waybill(no) for no in sorted(wanted)] if wanted else list(self.api.waybills(limit=200))
        )
        by_waybill: dict[str, list[Tracker]] = {}
        for t in self.trackers.values():
            by_waybill.setdefault(t.waybill_no, []).append(t)
        for item in items:
            no = str(item["waybill_no"])
            status = str(item.get("status", ""))
            if no in by_waybill:
                for t in by_waybill[no]:
                    t.status = status
                    if status in TERMINAL:
                        self.retire(t, f"waybill {status}")
                continue
            if status in TERMINAL or no in self._skipped:
                continue
            if not wanted and now_real - self._untracked.get(no, -1e18) < self.config.recheck_untracked_s:
                continue
            detail = item if "trackers" in item and "itinerary" in item else self.api.waybill(no)
            if not detail.get("trackers"):
                self._untracked[no] = now_real
                continue
            self._untracked.pop(no, None)
            self._adopt(detail)

    def _adopt(self, waybill: Mapping[str, Any]) -> None:
        no = str(waybill["waybill_no"])
        try:
            stops = self._stops(waybill.get("itinerary") or {})
        except (ValueError, KeyError, ApiError) as exc:
            log.warning("waybill %s: cannot follow its itinerary (%s); skipped", no, exc)
            self._skipped.add(no)
            return
        setpoint = reefer_setpoint(waybill.get("cargo"))
        for device_id in waybill.get("trackers", []):
            device_id = str(device_id)
            if device_id in self.trackers:
                continue
            if self.config.max_trackers is not None and len(self.trackers) >= self.config.max_trackers:
                return
            self.start_tracker(device_id, no, stops, setpoint, str(waybill.get("status", "BOOKED")))

    def _stops(self, itinerary: Mapping[str, Any]) -> list[Stop]:
        if itinerary.get("stops"):
            return build_stops(itinerary["stops"])
        if self._nodes is None:
            self._nodes = self.api.nodes()
        return stops_from_legs(itinerary.get("legs") or [], self._nodes)

    def start_tracker(
        self,
        device_id: str,
        waybill_no: str,
        stops: Sequence[Stop],
        setpoint: float | None,
        status: str = "BOOKED",
    ) -> Tracker:
        seed = self.config.seed
        model = TrackerModel(
            device_id=device_id,
            stops=stops,
            rng=random.Random(f"{seed}/{device_id}/sensor"),
            reefer_setpoint_c=setpoint,
            next_seq=self.store.last_seq(device_id) + 1,
        )
        fault_seed = self.config.fault_seed
        chain = build_chain(
            self.config.faults,
            device_id if fault_seed is None else FLEET_STREAM,
            seed if fault_seed is None else fault_seed,
            rate_scale=self.config.fault_rate,
            rates={**DEFAULT_RATES, **self.config.fault_rates},
            victims=lambda: list(self.trackers),
            gap_hours=self.config.gap_hours,
        )
        creds = self.store.get(device_id)
        self.uplink.add(device_id, creds.username if creds else None, creds.password if creds else None)
        # Each device reports at its own phase within the interval, as real trackers do (and the broker is
        # not hit by the whole fleet at once), unless one phase is asked for: two trackers on one container
        # then take their fixes at the same instants, so their milestones can be compared fix for fix.
        interval = self.config.interval
        phase = self.config.phase
        if phase is None:
            phase = timedelta(
                seconds=int(random.Random(f"{seed}/{device_id}/phase").random() * interval.total_seconds())
            )
        due = first_due(self.clock.now() - phase, interval) + phase
        tracker = Tracker(device_id, waybill_no, model, chain, due)
        tracker.status = status
        self.trackers[device_id] = tracker
        self.summary.trackers += 1
        log.info("tracker %s follows waybill %s over %d stops", device_id, waybill_no, len(stops))
        return tracker

    def retire(self, tracker: Tracker, why: str) -> None:
        """Publish what the fault chain still holds, say offline, forget the tracker."""
        for e in flush_chain(tracker.chain):
            self._publish(e)
        self.store.set_last_seq(tracker.device_id, tracker.model.next_seq - 1)
        self._count_faults(tracker)
        self.uplink.remove(tracker.device_id)
        self.trackers.pop(tracker.device_id, None)
        log.info("tracker %s retired: %s", tracker.device_id, why)

    # -- publishing
    def tick(self, service_now: datetime) -> int:
        """Publish every reading due by `service_now`; returns how many readings were taken."""
        taken = 0
        for device_id in sorted(self.trackers):
            t = self.trackers[device_id]
            n = 0
            while t.next_due <= service_now and n < self.config.max_catchup:
                reading = t.model.reading_at(t.next_due)
                for e in feed_chain(t.chain, Emission.single(device_id, reading)):
                    self._publish(e)
                t.next_due += self.config.interval
                n += 1
            taken += n
        self.summary.readings += taken
        return taken

    def _publish(self, e: Emission) -> None:
        if e.publisher not in self.trackers and e.publisher != e.device_id:
            return  # the spoofer is gone
        self.uplink.publish(e.publisher, e.topic, e.payload(), qos=1)
        self.summary.publishes += 1

    def next_due(self) -> datetime | None:
        return min((t.next_due for t in self.trackers.values()), default=None)

    def all_delivered(self, service_now: datetime) -> bool:
        """Every simulated waybill is DELIVERED/CANCELLED, or has ARRIVED and sat at its destination
        for `settle` of service time."""
        for t in self.trackers.values():
            if t.status in TERMINAL:
                continue
            if t.status in ARRIVED and journey_over(t.model.stops, service_now - self.config.settle):
                continue
            return False
        return True

    # -- the loop
    def run(self, stop: threading.Event) -> Summary:
        cfg = self.config
        started = self._monotonic()
        if self.clock.synced:
            self._guard(self.sync_clock)
        else:
            self.sync_clock()
        next_sync = self._monotonic() + cfg.sync_every_s
        next_discover = 0.0
        next_report = self._monotonic() + cfg.report_every_s
        try:
            while not stop.is_set():
                now_real = self._monotonic()
                if cfg.duration_s is not None and now_real - started >= cfg.duration_s:
                    self.summary.reason = f"ran for {cfg.duration_s:g} s"
                    break
                if now_real >= next_sync:
                    self._guard(self.sync_clock)
                    next_sync = now_real + cfg.sync_every_s
                if now_real >= next_discover:
                    self._guard(self.discover)
                    self._guard(lambda: self.customs_clerk.tick(self.clock.now()))
                    self.store.save()
                    next_discover = now_real + cfg.discover_every_s
                    if cfg.until_delivered and self.summary.trackers and self.all_delivered(self.clock.now()):
                        self.summary.reason = "every waybill delivered"
                        break
                    if cfg.until_delivered and not self.summary.trackers and not self.trackers:
                        self.summary.reason = "no tracked waybill to simulate"
                        break
                self.tick(self.clock.now())
                if now_real >= next_report:
                    self._report()
                    next_report = now_real + cfg.report_every_s
                due = self.next_due()
                wait = min(0.5, next_sync - self._monotonic(), next_discover - self._monotonic())
                if due is not None:
                    wait = min(wait, self.clock.real_seconds_until(due))
                self.uplink.poll(max(0.0, wait))
            else:
                self.summary.reason = "stopped"
        finally:
            self.shutdown()
        return self.summary

    def _count_faults(self, tracker: Tracker) -> None:
        for injector in tracker.chain:
            self.summary.faults[injector.name] = self.summary.faults.get(injector.name, 0) + injector.fired
            injector.fired = 0

    def _report(self) -> None:
        stats = getattr(self.uplink, "stats", None)
        log.info(
            "service time %s: %d trackers, %d readings taken, %d publishes%s",
            rfc3339(self.clock.now().replace(microsecond=0)),
            len(self.trackers),
            self.summary.readings,
            self.summary.publishes,
            f", {stats.acked} acknowledged by the broker" if stats is not None else "",
        )

    def shutdown(self) -> None:
        for t in list(self.trackers.values()):
            for e in flush_chain(t.chain):
                self._publish(e)
            self.store.set_last_seq(t.device_id, t.model.next_seq - 1)
            self._count_faults(t)
        self.uplink.close()
        self.store.save()

    def _guard(self, fn: Callable[[], None]) -> None:
        """An API hiccup is logged and retried on the next round, never fatal to the fleet."""
        try:
            fn()
        except ApiError as exc:
            log.warning("API: %s", exc)
        except (OSError, httpx.HTTPError) as exc:
            log.warning("API unreachable: %s", exc)
        except Exception:  # noqa: BLE001 - a malformed answer must not stop the fleet's telemetry
            log.exception("unexpected failure in %s; carrying on", getattr(fn, "__name__", fn))
