"""The telemetry ingest: an MQTT consumer that stores readings in batches and moves waybills.

Delivery guarantees: subscriptions are QoS 1 on a persistent session with manual acknowledgement, and a
message is acknowledged only after the batch holding it is committed. A crash loses nothing the broker
accepted; redelivery is harmless because readings are keyed by (device, seq). Several ingest processes share
the load through an MQTT 5 shared subscription; per-waybill correctness does not depend on which process gets
which reading, because each waybill is re-derived from all its stored readings under a row lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from kernel.clock import Clock
from kernel.db import Database
from kernel.mqtt import Communicator, Message, held_wakeups
from logistics import shipment_facts, tracking_service, tracking_store
from logistics.fold_cache import FoldCache, KeptFold
from logistics.tables import deadletters, devices, waybills
from logistics.tracking.readings import PayloadError, Reading, parse_message
from logistics.tracking.reconcile import TERMINAL
from logistics.tracking.rules import DEFAULT_RULES, TrackingRules

log = logging.getLogger(__name__)
TOPIC_ROOT = "xborder/v1"


@dataclass
class BatchResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    deadletter: int = 0
    changes: list[tracking_service.Changes] = field(default_factory=list)
    deadletters: list[tuple[str, str, str]] = field(default_factory=list)  # (device_id, reason, payload)


Counter = Callable[[str, int], None]


def device_of(topic: str, root: str = TOPIC_ROOT) -> str | None:
    parts = topic.split("/")
    base = root.split("/")
    if (
        len(parts) == len(base) + 3
        and parts[: len(base)] == base
        and parts[-3] == "devices"
        and parts[-1] == "telemetry"
    ):
        return parts[-2]
    return None


Hook = Callable[[Session, tracking_service.Changes], None]


@dataclass(frozen=True, slots=True)
class Received:
    """A telemetry message parsed on arrival: its device, its good readings and its dead letters."""

    device_id: str
    readings: tuple[Reading, ...]
    deadletters: tuple[tuple[str, str, str], ...]  # (device_id, reason, payload excerpt)
    # Readings its dead letters stand for: one each, but a backlog refused as a whole counts every element.
    refused: int = 0


def receive(msg: Message, now: datetime, root: str = TOPIC_ROOT) -> Received:
    """Parse one telemetry message received at `now` (no I/O: the MQTT client thread may call it)."""
    device_id = device_of(msg.topic, root)
    if device_id is None:
        return Received(
            "unknown", (), (("unknown", f"not a telemetry topic: {msg.topic}", stored_text(msg.payload)),), 1
        )
    try:
        payload = parse_message(device_id, msg.payload, received_at=now)
    except PayloadError as exc:
        return Received(device_id, (), ((device_id, exc.reason, stored_text(msg.payload)),), exc.readings)
    except Exception as exc:  # noqa: BLE001 - a parser defect costs this message alone, never the batch
        log.exception("telemetry parser failed on a message of %s", device_id)
        reason = f"could not be parsed ({type(exc).__name__})"
        return Received(device_id, (), ((device_id, reason, stored_text(msg.payload)),), 1)
    if not payload.rejected:
        return Received(device_id, payload.readings, ())
    # A backlog array with some bad elements: the good ones are kept, each bad one dead-lettered.
    text = stored_text(msg.payload)
    return Received(
        device_id,
        payload.readings,
        tuple(
            (device_id, (f"element {index}: " if payload.is_array else "") + reason, text)
            for index, reason in payload.rejected
        ),
        len(payload.rejected),
    )


def process_batch(
    session: Session,
    messages: list[Message],
    now: datetime,
    root: str = TOPIC_ROOT,
    hooks: list[Hook] | None = None,
    rules: TrackingRules = DEFAULT_RULES,
    suggest: tracking_service.Suggest | None = None,
    cache: FoldCache | None = None,
    received: list[Received] | None = None,
) -> BatchResult:
    """Store the readings of a batch of MQTT messages and re-derive every waybill they touch.

    parse -> route to waybills -> store readings and dead letters -> lock the touched waybills -> refresh
    each -> write them in one statement -> hooks -> keep the folds. `cache`: waybills' folds kept by this
    process (PostgreSQL); the caller commits or clears it after the transaction. `received`: the messages
    already parsed (`receive`), else they are parsed here with `now` as their time of receipt.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if not postgres:
        cache = None
    result = BatchResult()
    if received is None:
        received = [receive(msg, now, root) for msg in messages]
    parsed, refused = _collect(received, result)
    rows = _dedupe(_route(session, parsed, now, postgres, result), result)
    stored = _store_readings(session, rows, parsed, now, postgres, result) if rows else _Stored()
    result.deadletter = len(result.deadletters) + refused
    if result.deadletters:
        _store_deadletters(session, result.deadletters, root, now)
    locked, kept = _lock_waybills(session, stored, cache, postgres)
    policy = tracking_service.TrackingPolicy(rules, suggest)
    refreshed: list[tracking_service.Refreshed] = []
    for waybill_no in sorted(stored.touched):
        row = locked.get(waybill_no)
        if row is None:  # no such waybill (the readings were stored with it): nothing to refresh
            continue
        hit = kept.get(waybill_no)
        command = tracking_service.RefreshWaybill(
            row,
            now,
            stored.new_by_waybill.get(waybill_no),
            hit.plan if hit else None,
            hit.fold if hit else None,
        )
        done = tracking_service.refresh_locked(session, command, policy)
        refreshed.append(done)
        rejected = len(done.changes.quarantined & stored.fresh.get(waybill_no, set()))
        result.rejected += rejected
        result.accepted -= rejected
    pending = [
        {"b_waybill_no": r.changes.waybill_no, **{f"b_{k}": v for k, v in r.values.items()}}
        for r in refreshed
    ]
    written = tracking_store.write_pending(session, pending)
    # The statistics' fact rows of the refreshed shipments (shipment_facts.py): every one, since a late
    # reading can move a recorded status or milestone without a new one (a drift test caught it).
    shipment_facts.refresh(session, [r.changes.waybill_no for r in refreshed])
    # After the waybills are written: a hook that changed a waybill row would make its cached fold miss.
    for done in refreshed:
        result.changes.append(done.changes)
        # In the same transaction: the change and its consequences commit together.
        for hook in hooks or ():
            hook(session, done.changes)
    if cache is not None:
        _stage_folds(cache, refreshed, locked, written)
    return result


@dataclass
class _Stored:
    """The readings a batch stored, by waybill; the touched waybills (locked on PostgreSQL, with versions)."""

    touched: set[str] = field(default_factory=set)
    versions: dict[str, str] = field(default_factory=dict)
    fresh: dict[str, set[int]] = field(default_factory=dict)  # waybill -> seqs stored now
    new_by_waybill: dict[str, list[Reading]] = field(default_factory=dict)


def _collect(received: list[Received], result: BatchResult) -> tuple[list[tuple[str, Reading]], int]:
    """The batch's good readings by device; its dead letters go to `result`. Also the readings its dead
    letters stand for beyond one each (a backlog refused as a whole)."""
    parsed: list[tuple[str, Reading]] = []
    refused = 0
    for item in received:
        result.deadletters.extend(item.deadletters)
        refused += item.refused - len(item.deadletters)
        parsed.extend((item.device_id, r) for r in item.readings)
    return parsed, refused


def _route(
    session: Session, parsed: list[tuple[str, Reading]], now: datetime, postgres: bool, result: BatchResult
) -> list[dict[str, Any]]:
    """Rows to store for the readings of registered devices attached to an open waybill; the others are
    dead-lettered with the reason."""
    device_ids = sorted({d for d, _ in parsed})
    known: set[str] = set()
    attached: dict[str, tuple[str, str]] = {}
    if device_ids:
        for device_id, waybill_no, status in tracking_store.device_attachments(session, device_ids, postgres):
            known.add(device_id)
            if waybill_no is not None:
                attached[device_id] = (waybill_no, status)
    rows: list[dict[str, Any]] = []
    for device_id, r in parsed:
        if device_id not in known:
            result.deadletters.append((device_id, "unregistered device", _reading_json(r)))
            continue
        link = attached.get(device_id)
        if link is None:
            result.deadletters.append((device_id, "device is not attached to a shipment", _reading_json(r)))
            continue
        if link[1] in TERMINAL:
            result.deadletters.append((device_id, f"waybill {link[0]} is {link[1]}", _reading_json(r)))
            continue
        rows.append(
            {
                "device_id": device_id,
                "seq": r.seq,
                "waybill_no": link[0],
                "ts": r.ts,
                "lat": r.lat,
                "lon": r.lon,
                "data": _data(r),
                "quarantine": None,
                "received_at": r.received_at or now,
            }
        )
    return rows


def _dedupe(rows: list[dict[str, Any]], result: BatchResult) -> list[dict[str, Any]]:
    """Several readings with one (device, seq) inside a batch: keep the first."""
    unique: dict[tuple[str, int], dict[str, Any]] = {}
    for values in rows:
        if (values["device_id"], values["seq"]) in unique:
            result.duplicate += 1
        else:
            unique[(values["device_id"], values["seq"])] = values
    return list(unique.values())


def _store_readings(
    session: Session,
    rows: list[dict[str, Any]],
    parsed: list[tuple[str, Reading]],
    now: datetime,
    postgres: bool,
    result: BatchResult,
) -> _Stored:
    """Insert the new readings (those already stored are duplicates) and note each device's last seq."""
    inserted, versions = tracking_store.insert_readings(session, rows, now, postgres)
    result.accepted += len(inserted)
    result.duplicate += len(rows) - len(inserted)
    stored = _Stored(touched={w for _, _, w in inserted}, versions=versions)
    by_key = {(d, r.seq): r for d, r in parsed}
    for device_id, seq, waybill_no in inserted:
        stored.fresh.setdefault(waybill_no, set()).add(seq)
        stored.new_by_waybill.setdefault(waybill_no, []).append(by_key[(device_id, seq)])
    if not postgres:  # PostgreSQL does it in the INSERT statement
        last: dict[str, tuple[int, datetime]] = {}
        for device_id, seq, _ in inserted:
            if seq > last.get(device_id, (-1, now))[0]:
                last[device_id] = (seq, now)
        if last:
            session.execute(
                update(devices)
                .where(devices.c.device_id == bindparam("b_device"))
                .values(last_seq=bindparam("b_seq"), last_seen_at=bindparam("b_seen")),
                [{"b_device": d, "b_seq": seq, "b_seen": seen} for d, (seq, seen) in last.items()],
            )
    return stored


def _store_deadletters(
    session: Session, letters: list[tuple[str, str, str]], root: str, now: datetime
) -> None:
    session.execute(
        deadletters.insert(),
        [
            {
                # Cut to the columns: a device id from a topic is anyone's text, and a row the database
                # refuses would fail the batch of everyone's readings with it.
                "topic": f"{root}/devices/{dev}/telemetry"[:300],
                "device_id": dev[:64],
                "reason": reason[:500],
                "payload": text,
                "received_at": now,
            }
            for dev, reason, text in letters
        ],
    )


def _lock_waybills(
    session: Session, stored: _Stored, cache: FoldCache | None, postgres: bool
) -> tuple[dict[str, Any], dict[str, KeptFold]]:
    """Every touched waybill's row, locked, and the folds the cache still holds for them.

    One query in waybill order (two ingest processes never wait on each other in a cycle). On PostgreSQL the
    INSERT of the readings has locked them already and returned their row versions: a cached fold of the
    same version needs no reading of the row."""
    locked: dict[str, Any] = {}
    kept: dict[str, KeptFold] = {}
    if not stored.touched:
        return locked, kept
    order = sorted(stored.touched)
    if cache is not None:
        for waybill_no, version in sorted(stored.versions.items()):
            hit = cache.get(waybill_no, version)
            if hit is not None:
                kept[waybill_no] = hit
                locked[waybill_no] = hit.row
        order = [w for w in order if w not in kept]
    if order:
        query = select(waybills).where(tracking_store.among(waybills.c.waybill_no, order, postgres))
        if not postgres:
            query = query.order_by(waybills.c.waybill_no).with_for_update()
        locked.update({r["waybill_no"]: r for r in session.execute(query).mappings()})
    return locked, kept


def _stage_folds(
    cache: FoldCache,
    refreshed: list[tracking_service.Refreshed],
    locked: dict[str, Any],
    written: dict[str, str],
) -> None:
    """Stage each written waybill's fold with the row as written, under its new row version."""
    for done in refreshed:
        waybill_no = done.changes.waybill_no
        version = written.get(waybill_no)
        if version is None:
            continue
        kept_row = dict(locked[waybill_no])
        kept_row.update({c: done.values[c] for c in tracking_store.WRITTEN})
        kept_row["track_state"] = kept_row["track_checkpoint"] = None  # the fold holds them
        cache.stage(waybill_no, version, KeptFold(kept_row, done.plan, done.fold))


def _data(r: Reading) -> dict[str, Any]:
    """The reading's optional fields that it has (spelt out: this runs for every reading)."""
    data: dict[str, Any] = {}
    if r.speed_kmh is not None:
        data["speed_kmh"] = r.speed_kmh
    if r.accuracy_m is not None:
        data["accuracy_m"] = r.accuracy_m
    if r.temp_c is not None:
        data["temp_c"] = r.temp_c
    if r.humidity_pct is not None:
        data["humidity_pct"] = r.humidity_pct
    if r.shock_g is not None:
        data["shock_g"] = r.shock_g
    if r.door_open is not None:
        data["door_open"] = r.door_open
    if r.battery_pct is not None:
        data["battery_pct"] = r.battery_pct
    return data


def stored_text(payload: bytes) -> str:
    """The start of a payload as text a dead letter can keep: PostgreSQL text refuses NUL characters."""
    return payload[:2000].decode("utf-8", "replace").replace("\x00", "\ufffd")


def _reading_json(r: Reading) -> str:
    return json.dumps({"seq": r.seq, "ts": r.ts.isoformat(), "lat": r.lat, "lon": r.lon, **_data(r)})


class TelemetryIngest:
    """Driver: receives MQTT messages on the client thread, commits them in batches on its own thread."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        communicator: Communicator,
        *,
        count: Counter | None = None,
        on_changes: Callable[[list[tracking_service.Changes]], None] | None = None,
        root: str = TOPIC_ROOT,
        batch_size: int = 500,
        batch_seconds: float = 0.05,
        shared_group: str | None = None,
        hooks: list[Hook] | None = None,
        rules: TrackingRules = DEFAULT_RULES,
        suggest: tracking_service.Suggest | None = None,
        timed: Callable[[float], None] | None = None,
    ) -> None:
        self.hooks = hooks or []
        self.timed = timed  # told each committed batch's seconds (transaction and retries)
        self.rules = rules
        self.suggest = suggest
        self.db = db
        self.clock = clock
        self.comm = communicator
        self.count = count or (lambda _o, _n: None)
        self.on_changes = on_changes
        self.root = root
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.shared_group = shared_group
        # Received messages, appended by the MQTT client's thread and taken by the batch thread. The batch
        # thread is woken by the first message of a batch and by a full batch, not by every message: each
        # wake-up is a hand-over of the interpreter lock between the two threads.
        self._inbox: deque[tuple[Message, Received | None]] = deque()
        self._arrived = threading.Event()
        self._full = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0
        self.beat = time.monotonic()  # the batch loop's last turn (idle or taking a batch): `liveness`
        self.cache = FoldCache()
        self._conn: Connection | None = None

    def start(self) -> TelemetryIngest:
        topic = f"{self.root}/devices/+/telemetry"
        if self.shared_group:
            topic = f"$share/{self.shared_group}/{topic}"
        self.comm.subscribe(topic, self._receive, qos=1)
        self._thread = threading.Thread(target=self._run, name="telemetry-ingest", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._drop_connection()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One batch's transaction. On PostgreSQL on the ingest's own connection: no pool check-out (and
        liveness ping) per batch; a failed batch drops the connection and the next one opens another."""
        if not self.db.is_postgres:
            with self.db.session() as session:
                yield session
            return
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.db.engine.connect()
        try:
            with Session(bind=self._conn, expire_on_commit=False) as session, session.begin():
                yield session
        except BaseException:
            self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is being dropped because something went wrong
                log.debug("could not close the ingest's connection", exc_info=True)

    def _run(self) -> None:
        inbox = self._inbox
        while not self._stop.is_set():
            self.beat = time.monotonic()
            if not inbox:
                self._arrived.clear()
                if not inbox:  # nothing came between the check and the clear
                    self._arrived.wait(0.2)
                    continue
            if len(inbox) < self.batch_size:
                self._full.wait(self.batch_seconds)  # the batch window, from its first message
            self._full.clear()
            batch = [inbox.popleft() for _ in range(min(self.batch_size, len(inbox)))]
            received = [r for _, r in batch if r is not None]
            self.handle([m for m, _ in batch], received if len(received) == len(batch) else None)

    def liveness(self, stall_s: float = 60.0) -> str | None:
        """None while the ingest works; else why not: its batch thread has ended, its broker connection is
        down, or messages have waited `stall_s` seconds with no batch taken."""
        if self._thread is None or not self._thread.is_alive():
            return "not running"
        if not getattr(self.comm, "connected", True):
            return "not connected to the broker"
        if self._inbox and time.monotonic() - self.beat > stall_s:
            return f"stalled: {len(self._inbox)} messages waiting"
        return None

    def _receive(self, msg: Message) -> None:
        """On the MQTT client's thread: parse on arrival, while the batch before is with the database."""
        try:
            parsed: Received | None = receive(msg, self.clock.now(), self.root)
        except Exception:  # noqa: BLE001 - parsed again in the batch, where a failure is dead-lettered
            log.exception("could not parse a telemetry message on arrival")
            parsed = None
        self._inbox.append((msg, parsed))
        if len(self._inbox) >= self.batch_size:
            self._full.set()
        if not self._arrived.is_set():
            self._arrived.set()

    def handle(self, batch: list[Message], received: list[Received] | None = None) -> BatchResult | None:
        """Commit one batch (parsed on arrival, or here), then acknowledge it and publish what changed."""
        started = time.monotonic()
        for attempt in range(5):
            try:
                with self._transaction() as session:
                    result = process_batch(
                        session,
                        batch,
                        self.clock.now(),
                        self.root,
                        self.hooks,
                        self.rules,
                        self.suggest,
                        cache=self.cache,
                        received=received,
                    )
                self.cache.commit()
                break
            except Exception:  # a failed batch is retried; the consumer never stops
                self.cache.clear()  # its folds may have moved on with what was rolled back
                log.exception("ingest batch failed (attempt %d); retrying", attempt + 1)
                time.sleep(0.2 * (attempt + 1))
        else:
            # Give up on the batch as a whole: one message at a time, so a poisonous one dead-letters alone.
            if len(batch) > 1:
                for msg in batch:
                    self.handle([msg])
                return None
            msg = batch[0]
            self._deadletter_unprocessable(msg)
            self._ack([msg])
            return None
        if self.timed is not None:
            self.timed(time.monotonic() - started)
        with held_wakeups(self.comm):
            self._answer(batch, result)
        if self.on_changes and result.changes:
            self.on_changes(result.changes)
        return result

    def _answer(self, batch: list[Message], result: BatchResult) -> None:
        """Acknowledge a committed batch, count it, and publish its dead letters and status messages."""
        self._ack(batch)
        self.processed += len(batch)
        for outcome in ("accepted", "duplicate", "rejected", "deadletter"):
            n = getattr(result, outcome)
            if n:
                self.count(outcome, n)
        for device_id, reason, text in result.deadletters:
            self.comm.publish(
                f"{self.root}/deadletter/{device_id}",
                json.dumps({"reason": reason, "payload": text}),
                qos=1,
            )
        for changes in result.changes:
            if not changes.moved:  # say a quarantined fix: the retained message would only get a new time
                continue
            # A change of status, milestone, ETA or alarms at QoS 1; a position tick at QoS 0: the next tick
            # or change supersedes it, and each QoS 1 message costs the broker's acknowledgement.
            self.comm.publish(
                f"{self.root}/waybills/{changes.waybill_no}/status",
                orjson.dumps(changes.message),
                qos=0 if changes.position_only else 1,
                retain=True,
            )

    def _ack(self, messages: list[Message]) -> None:
        many = getattr(self.comm, "ack_many", None)
        if many is not None:
            many(messages)
            return
        ack = getattr(self.comm, "ack", None)
        if ack:
            for msg in messages:
                ack(msg)

    def _deadletter_unprocessable(self, msg: Message) -> None:
        device_id = device_of(msg.topic, self.root) or "unknown"
        reason = "could not be processed after retries"
        try:
            with self.db.session() as session:
                session.execute(
                    deadletters.insert().values(
                        topic=msg.topic[:300],
                        device_id=device_id[:64],
                        reason=reason,
                        payload=stored_text(msg.payload),
                        received_at=self.clock.now(),
                    )
                )
        except Exception:
            log.exception("could not store a dead letter")
        self.count("deadletter", 1)
        self.comm.publish(f"{self.root}/deadletter/{device_id}", json.dumps({"reason": reason}), qos=1)
