"""The lean PUBLISH-properties decoder gives exactly what paho's own gives, with or without properties."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kernel import mqtt_wire

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_PROPERTIES: dict[str, Any] = {
    "PayloadFormatIndicator": st.sampled_from([0, 1]),
    "MessageExpiryInterval": st.integers(min_value=0, max_value=2**32 - 1),
    "ContentType": _TEXT,
    "ResponseTopic": _TEXT.filter(bool),
    "CorrelationData": st.binary(max_size=20),
    "SubscriptionIdentifier": st.lists(st.integers(min_value=1, max_value=268435455), min_size=1, max_size=3),
    "TopicAlias": st.integers(min_value=1, max_value=65535),
    "UserProperty": st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=3),
}


def _publish_packet(props: dict[str, Any], payload: bytes) -> bytes:
    topic = b"xborder/v1/devices/t-1/telemetry"
    p = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in props.items():
        setattr(p, name, value)
    return len(topic).to_bytes(2, "big") + topic + (7).to_bytes(2, "big") + p.pack() + payload  # type: ignore[no-untyped-call]


def _decoded(packet: bytes) -> tuple[Any, ...]:
    """What decoding gives: the message, or the error a malformed packet raises (NUL in a string, say)."""
    try:
        r = _packet.decode_publish(0x32, packet, MQTTProtocolVersion.MQTTv5)
    except Exception as exc:  # noqa: BLE001 - compared as it is
        return ("error", type(exc).__name__, str(exc))
    assert isinstance(r.properties, Properties)
    return (r.topic, r.mid, r.qos, r.payload, r.properties.json())


@given(props=st.fixed_dictionaries({}, optional=_PROPERTIES), payload=st.binary(max_size=64))
@example(props={"ContentType": "\x00"}, payload=b"")  # malformed: both refuse it alike
@example(props={}, payload=b"")
def test_lean_decoding_equals_paho(props: dict[str, Any], payload: bytes) -> None:
    packet = _publish_packet(props, payload)
    saved = _packet.Properties
    try:
        _packet.Properties = Properties  # type: ignore[misc]
        stock = _decoded(packet)
        assert mqtt_wire.install()
        assert _packet.Properties is mqtt_wire.LeanProperties
        lean = _decoded(packet)
    finally:
        _packet.Properties = saved  # type: ignore[misc]
    assert lean == stock


def test_a_lean_object_is_still_a_full_properties_object() -> None:
    p = mqtt_wire.LeanProperties(PacketTypes.PUBLISH)
    p.UserProperty = ("k", "v")
    p.UserProperty = ("k2", "v2")
    assert p.UserProperty == [("k", "v"), ("k2", "v2")]
    assert p.json() == {"UserProperty": [("k", "v"), ("k2", "v2")]}
    q = mqtt_wire.LeanProperties(PacketTypes.PUBLISH)
    assert q.json() == {}  # nothing leaks between objects through the shared tables
    assert isinstance(q, Properties)
