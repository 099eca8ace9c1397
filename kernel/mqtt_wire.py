"""Cheaper receiving for paho-mqtt (the ingest's hottest path): MQTT 5 PUBLISH properties, and reads.

Properties.

paho builds, for every `Properties` object, two tables of all 27 MQTT 5 properties (with 27 list searches),
and `unpack` first walks all 27 names to delete attributes a new object cannot have. For each PUBLISH
received over MQTT 5 that was ~15 % of the ingest's CPU per reading. `install()` makes paho's PUBLISH decoder
use a subclass that shares those tables (paho never changes them) and returns at once when the packet has no
properties (a property length of 0, the usual telemetry message); with properties it decodes exactly as
paho does. The result is the same object state in every case (tests/unit/kernel/test_mqtt_wire.py).

Reads. paho reads a packet with three or more `recv` calls (the command byte, each byte of the remaining
length, then the rest) and goes back to `select` after each packet, releasing the interpreter lock each time.
`WireClient` reads the socket in pieces of up to 64 KiB (`BufferedSocket`, which tells paho's loop what it
holds through `pending()`, as an SSL socket does) and decodes every complete packet a read brought before
going back to `select`. paho's own packet decoder and handlers do the rest, unchanged. Draining a queue of
QoS 1 messages this halves paho's CPU per message (35 to 18 us here).

Messages that trickle in (a steady rate, or a burst shared with other processes on the cores) come one or two
per read: each costs a `select`, a `recv` and a hand-over of the interpreter lock. `read_pause_s` (0: off)
has the loop rest that long after a read that brought only a few packets, so the next read brings what came
meanwhile, as a network card's interrupt moderation does: at 3,000 messages/s a 2 ms pause halves the CPU per
message (64 to 31 us here), at 1,000/s a 5 ms one takes a third off (72 to 47 us), for at most that much
more latency. Once messages come faster than a few per pause, every read brings many and the loop never rests.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from typing import Any, cast

import paho.mqtt.client as paho
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_TABLES = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]


class LeanProperties(Properties):
    """paho's `Properties`, with its constant tables shared instead of built per object."""

    def __init__(self, packetType: int) -> None:
        object.__setattr__(self, "packetType", packetType)
        object.__setattr__(self, "types", _TABLES.types)
        object.__setattr__(self, "names", _TABLES.names)
        object.__setattr__(self, "properties", _TABLES.properties)

    def unpack(self, buffer: Any) -> tuple[Properties, int]:
        if buffer[:1] == b"\x00" and not vars(self).keys() - _PRIVATE:
            return self, 1  # a property length of 0 (one byte): no properties
        result: tuple[Properties, int] = super().unpack(buffer)  # type: ignore[no-untyped-call]
        return result


_PRIVATE = frozenset(("packetType", "types", "names", "properties"))


def install() -> bool:
    """Have paho's PUBLISH decoder use `LeanProperties`; False if this paho does not decode as expected."""
    current = getattr(_packet, "Properties", None)
    if current is LeanProperties:
        return True
    if current is not Properties or not hasattr(_packet, "decode_publish"):
        return False  # another paho layout: keep it as it is
    setattr(_packet, "Properties", LeanProperties)  # noqa: B010 - a module attribute mypy does not see
    return True


class BufferedSocket:
    """A socket read in pieces of up to 64 KiB, handed out as paho asks for them.

    `pending()` is what it holds (and an SSL socket's own pending bytes): paho's loop does not wait in
    `select` while there is some. Everything else goes to the socket itself.
    """

    __slots__ = ("_inner", "_buf", "_pos", "_read_size")

    def __init__(self, inner: Any, read_size: int = 65536) -> None:
        self._inner = inner
        self._buf = b""
        self._pos = 0
        self._read_size = read_size

    def recv(self, size: int) -> bytes:
        buf, pos = self._buf, self._pos
        held = len(buf) - pos
        if held <= 0:
            data: bytes = self._inner.recv(max(size, self._read_size))  # BlockingIOError etc. go to paho
            if len(data) <= size:
                return data
            self._buf, self._pos = data, size
            return data[:size]
        if size >= held:  # what is held, even if short: paho reads on for the rest
            self._buf, self._pos = b"", 0
            return buf[pos:] if pos else buf
        self._pos = pos + size
        return buf[pos : pos + size]

    def pending(self) -> int:
        inner = getattr(self._inner, "pending", None)
        return len(self._buf) - self._pos + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class WireClient(paho.Client):
    """paho's client, reading many packets per wake-up of its network loop (see the module's docstring)."""

    # Packets decoded in one turn of the loop before it writes what is queued (acknowledgements) and
    # keeps the connection alive: some 20 ms of work at most.
    MAX_PACKETS_PER_TURN = 500
    # A read that brought fewer packets than this is a trickle: rest `read_pause_s` after it.
    FEW_PACKETS = 32
    read_pause_s: float = 0.0

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if getattr(self, "_transport", "tcp") == "websockets":
            return sock
        return BufferedSocket(sock)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        decoded = 0
        this: Any = self
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and decoded < self.MAX_PACKETS_PER_TURN:
            sock = this._sock
            if not isinstance(sock, BufferedSocket) or not sock.pending():
                break
            rc = this._packet_read()
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS  # a packet's rest is still on its way
            if rc > 0:
                return cast(MQTTErrorCode, this._loop_rc_handle(rc))
            decoded += 1
        if self.read_pause_s > 0 and decoded < self.FEW_PACKETS:
            time.sleep(self.read_pause_s)  # the interpreter lock is free meanwhile: the batch thread works
        return rc

    def ack_all(self, mids: Iterable[int]) -> None:
        """Acknowledge QoS 1 messages received with manual acks, as `ack(mid, 1)` for each would, in one
        queued write: paho queues, and then writes with a `send` of its own, one 4-byte PUBACK at a time."""
        data = b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids])  # PUBACK, remaining length 2, id
        if data:
            this: Any = self
            this._packet_queue(0x40, data, 0, 0)


_PUBACK = struct.Struct("!BBH")


def wire_client_fits() -> bool:
    """Whether this paho has the internals `WireClient` builds on (else the plain client is used)."""
    return all(
        callable(getattr(paho.Client, name, None))
        for name in (
            "_create_socket",
            "_packet_read",
            "_loop_rc_handle",
            "_sock_recv",
            "loop_read",
            "_packet_queue",
        )  # fmt: skip
    )
