"""A cheaper decoding of MQTT 5 PUBLISH properties for paho-mqtt (the ingest's hottest path).

paho builds, for every `Properties` object, two tables of all 27 MQTT 5 properties (with 27 list searches),
and `unpack` first walks all 27 names to delete attributes a new object cannot have. For each PUBLISH
received over MQTT 5 that was ~15 % of the ingest's CPU per reading. `install()` makes paho's PUBLISH decoder
use a subclass that shares those tables (paho never changes them) and returns at once when the packet has no
properties (a property length of 0, the usual telemetry message); with properties it decodes exactly as
paho does. The result is the same object state in every case (tests/unit/kernel/test_mqtt_wire.py).
"""

from __future__ import annotations

from typing import Any

from paho.mqtt import _packet
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
