"""The customs single window as a port, with two adapters.

`SingleWindow.send(Outgoing)` hands one message over (raising `GatewayError` when it cannot, to be retried);
`receipts()` lists the receipts waiting, each with a handle that `ack(handle)` removes once applied. A
message may be sent again after a crash between the hand-over and the outbox's commit: both adapters keep it
under its guid, so the same message is never filed twice.

- `DirectoryDrop(root)`: the file exchange of the single window's client (and most customs gateways): a
  message is written to `root/out/<guid>.xml` (atomically: written aside, then renamed); receipts are read
  from `root/in/*.xml` and moved to `root/in/done/` once applied.
- `SimulatedSingleWindow`: the single window's behaviour in-process, for tests and the demo: it validates
  what it receives against the schema, returns 100 (rejected) with the reason for a malformed message, an
  enterprise it does not know (`unregistered`), or an arrival, departure or import waybill status
  (CEB507/509/513) of a logistics number with no accepted waybill (CEB505/511), and 120 (accepted)
  otherwise. The one built from `XB_CUSTOMS_GATEWAY=simulated` does not
  know the enterprise `UNREGISTERED_DEMO_CODE`, so a demo booking declaring it is rejected (and can be
  corrected with `PUT /v1/waybills/{waybill_no}/customs`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from logistics.customs import messages
from logistics.customs.spec import SchemaError, local, q, validate


@dataclass(frozen=True)
class Outgoing:
    id: str  # the guid
    type: str
    xml: bytes


@dataclass(frozen=True)
class Incoming:
    handle: str
    xml: bytes


class GatewayError(Exception):
    """The single window could not take the message now (retried later)."""


class SingleWindow(Protocol):
    def send(self, message: Outgoing) -> None: ...

    def receipts(self) -> list[Incoming]: ...

    def ack(self, handle: str) -> None: ...


class DirectoryDrop:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.out, self.inbox, self.done = self.root / "out", self.root / "in", self.root / "in" / "done"

    def send(self, message: Outgoing) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            target = self.out / f"{message.id}.xml"
            if target.exists():
                return  # handed over before a crash: the gateway has it already
            aside = self.out / f".{message.id}.tmp"
            aside.write_bytes(message.xml)
            os.replace(aside, target)
        except OSError as exc:
            raise GatewayError(f"cannot write to {self.out}: {exc}") from exc

    def receipts(self) -> list[Incoming]:
        if not self.inbox.is_dir():
            return []
        return [Incoming(p.name, p.read_bytes()) for p in sorted(self.inbox.glob("*.xml"))]

    def ack(self, handle: str) -> None:
        self.done.mkdir(parents=True, exist_ok=True)
        source = self.inbox / handle
        if source.exists():
            os.replace(source, self.done / handle)


UNREGISTERED_DEMO_CODE = "91511500MA00000000"


class SimulatedSingleWindow:
    def __init__(self, now: Callable[[], datetime], unregistered: frozenset[str] = frozenset()) -> None:
        self.now = now
        self.unregistered = unregistered
        self.filed: dict[str, bytes] = {}  # guid -> message, each filed once
        self.accepted_waybills: set[str] = set()  # logistics numbers with an accepted CEB505 or CEB511
        self._pending: dict[str, Incoming] = {}
        self._serial = 0
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> None:
        with self._lock:
            if message.id in self.filed:
                return
            self.filed[message.id] = message.xml
            status, info, code = self._judge(message)
            self._serial += 1
            handle = f"{self._serial:08d}-{message.id}"
            xml = messages.receipt_message(message.type, message.id, code, status, info, self.now())
            self._pending[handle] = Incoming(handle, xml)

    def _judge(self, message: Outgoing) -> tuple[str, str, str]:
        try:
            root = validate(message.xml)
        except SchemaError as exc:
            return "100", f"报文校验失败 (message invalid): {exc}"[:1000], ""
        codes = {local(e.tag): (e.text or "") for e in root.iter() if local(e.tag).endswith("Code")}
        logistics_code = codes.get("logisticsCode", "")
        unknown = sorted(v for k, v in codes.items() if v in self.unregistered and k != "customsCode")
        if unknown:
            return "100", f"企业未备案 (enterprise not registered): {', '.join(unknown)}", logistics_code
        numbers = [e.text or "" for e in root.iter(q("logisticsNo"))]
        if message.type in ("CEB505", "CEB511"):
            app_type = next((e.text for e in root.iter(q("appType"))), None)
            for no in numbers:
                if app_type == "3":
                    self.accepted_waybills.discard(no)
                else:
                    self.accepted_waybills.add(no)
        else:
            missing = [no for no in numbers if no not in self.accepted_waybills]
            if missing:
                return "100", f"运单不存在 (no accepted waybill): {', '.join(missing)}", logistics_code
        return "120", "海关入库成功 (entered)", logistics_code

    def receipts(self) -> list[Incoming]:
        with self._lock:
            return list(self._pending.values())

    def ack(self, handle: str) -> None:
        with self._lock:
            self._pending.pop(handle, None)


class NoSingleWindow:
    """No gateway (`XB_CUSTOMS_GATEWAY=none`): messages stay QUEUED until one is configured."""

    def send(self, message: Outgoing) -> None:
        raise GatewayError("no customs gateway is configured (XB_CUSTOMS_GATEWAY=none)")

    def receipts(self) -> list[Incoming]:
        return []

    def ack(self, handle: str) -> None:
        return None


def gateway_from_setting(value: str, now: Callable[[], datetime]) -> SingleWindow:
    """`simulated`, `directory:/path` or `none` (XB_CUSTOMS_GATEWAY)."""
    if value == "simulated":
        return SimulatedSingleWindow(now, unregistered=frozenset({UNREGISTERED_DEMO_CODE}))
    if value.startswith("directory:") and len(value) > len("directory:"):
        return DirectoryDrop(value.split(":", 1)[1])
    if value == "none":
        return NoSingleWindow()
    raise ValueError(f"XB_CUSTOMS_GATEWAY={value!r}: use simulated, directory:/path or none")
