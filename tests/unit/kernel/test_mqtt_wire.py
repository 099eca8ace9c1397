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

_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)
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
    p = Properties(PacketTypes.PUBLISH)
    for name, value in props.items():
        setattr(p, name, value)
    return len(topic).to_bytes(2, "big") + topic + (7).to_bytes(2, "big") + p.pack() + payload


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
    # paho does not export `_packet.Properties`: it is read and set by name, as `mqtt_wire.install` does.
    saved = vars(_packet)["Properties"]
    try:
        setattr(_packet, "Properties", Properties)  # noqa: B010
        stock = _decoded(packet)
        assert mqtt_wire.install()
        assert vars(_packet)["Properties"] is mqtt_wire.LeanProperties
        lean = _decoded(packet)
    finally:
        setattr(_packet, "Properties", saved)  # noqa: B010
    assert lean == stock


def test_a_lean_object_is_still_a_full_properties_object() -> None:
    p: Any = mqtt_wire.LeanProperties(PacketTypes.PUBLISH)  # its properties are attributes set by name
    p.UserProperty = ("k", "v")
    p.UserProperty = ("k2", "v2")
    assert p.UserProperty == [("k", "v"), ("k2", "v2")]
    assert p.json() == {"UserProperty": [("k", "v"), ("k2", "v2")]}
    q = mqtt_wire.LeanProperties(PacketTypes.PUBLISH)
    assert q.json() == {}  # nothing leaks between objects through the shared tables
    assert isinstance(q, Properties)


# -- reads: BufferedSocket and WireClient


class _Trickle:
    """A non-blocking socket whose peer sends `chunks`: each `recv` gives at most one chunk's bytes, and a
    `None` chunk is a moment with nothing arrived (BlockingIOError)."""

    def __init__(self, chunks: list[bytes | None]) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        head = self.chunks[0]
        if head is None:
            self.chunks.pop(0)
            raise BlockingIOError
        out, rest = head[:size], head[size:]
        if rest:
            self.chunks[0] = rest
        else:
            self.chunks.pop(0)
        return out

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        self.chunks = []


def _cut(data: bytes, cuts: list[int], gaps: list[bool]) -> list[bytes | None]:
    """`data` split at `cuts`, with a moment of nothing after the pieces `gaps` marks."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    chunks: list[bytes | None] = []
    for i, (a, b) in enumerate(zip(points, points[1:], strict=False)):
        chunks.append(data[a:b])
        if gaps and gaps[i % len(gaps)]:
            chunks.append(None)
    return chunks


@given(
    data=st.binary(min_size=1, max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8),
    sizes=st.lists(st.integers(min_value=1, max_value=70), min_size=1, max_size=40),
)
def test_buffered_socket_hands_out_the_stream_in_order(
    data: bytes, cuts: list[int], sizes: list[int]
) -> None:
    # Reads of 16 bytes at most: they end inside what is held.
    sock = mqtt_wire.BufferedSocket(_Trickle(_cut(data, cuts, [True])), read_size=16)
    got = b""
    for size in sizes * 20:
        before = sock.pending()
        try:
            piece = sock.recv(size)
        except BlockingIOError:
            assert before == 0  # it only goes to the socket when it holds nothing
            continue
        assert 0 < len(piece) <= size
        if before:
            assert len(piece) == min(size, before)
        got += piece
    assert data.startswith(got)
    assert sock.fileno() == -1  # everything else is the socket's


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def _publish(topic: str, mid: int, qos: int, payload: bytes, v5: bool) -> bytes:
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + (mid.to_bytes(2, "big") if qos else b"") + (b"\x00" if v5 else b"")
    body += payload
    return bytes([0x30 | qos << 1]) + _varint(len(body)) + body


_MESSAGES = st.lists(
    st.tuples(st.sampled_from([0, 1]), st.binary(max_size=400)),  # a payload of 400 has a 2-byte length
    min_size=1,
    max_size=40,
)


@given(
    messages=_MESSAGES,
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=30),
    gaps=st.lists(st.booleans(), max_size=5),
    v5=st.booleans(),
)
def test_wire_client_decodes_every_packet_however_the_stream_arrives(
    messages: list[tuple[int, bytes]], cuts: list[int], gaps: list[bool], v5: bool
) -> None:
    from paho.mqtt.enums import CallbackAPIVersion

    assert mqtt_wire.wire_client_fits()
    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    client = mqtt_wire.WireClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol)
    client.MAX_PACKETS_PER_TURN = 7  # a turn's limit is reached too
    got: list[tuple[str, int, int, bytes | bytearray]] = []
    client.on_message = lambda _c, _u, m: got.append((m.topic, m.qos, m.mid, m.payload))
    sent = [
        (f"xborder/v1/devices/d-{i}/telemetry", qos, i + 1 if qos else 0, p)
        for i, (qos, p) in enumerate(messages)
    ]
    stream = b"".join(_publish(t, mid, qos, p, v5) for t, qos, mid, p in sent)
    trickle = _Trickle(_cut(stream, cuts, gaps))
    client._sock = mqtt_wire.BufferedSocket(trickle)
    turns = 0
    while (trickle.chunks or client._sock.pending()) and turns < 10_000:
        assert client.loop_read() == 0
        turns += 1
    assert got == sent
    acks = [p["packet"] for p in client._out_packet]
    # A QoS 1 message is acknowledged (PUBACK, its packet id), in order; v5 may add a reason code.
    assert [int.from_bytes(a[2:4], "big") for a in acks] == [mid for _, qos, mid, _ in sent if qos]
    assert all(a[0] == 0x40 for a in acks)


@given(mids=st.lists(st.integers(min_value=1, max_value=65535), max_size=50), v5=st.booleans())
def test_ack_all_writes_what_one_ack_per_message_writes(mids: list[int], v5: bool) -> None:
    from paho.mqtt.enums import CallbackAPIVersion

    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    one, many = (
        mqtt_wire.WireClient(CallbackAPIVersion.VERSION2, client_id=name, protocol=protocol)
        for name in ("one", "many")
    )
    for client in (one, many):
        client.manual_ack_set(True)
    for mid in mids:
        one.ack(mid, 1)
    many.ack_all(mids)
    queued = [p["packet"] for p in many._out_packet]
    assert len(queued) == (1 if mids else 0)  # one write
    assert b"".join(queued) == b"".join(p["packet"] for p in one._out_packet)


def test_the_loop_rests_after_a_read_of_few_packets_only(monkeypatch: Any) -> None:
    from paho.mqtt.enums import CallbackAPIVersion

    rests: list[float] = []
    monkeypatch.setattr("kernel.mqtt_wire.time.sleep", rests.append)
    client = mqtt_wire.WireClient(CallbackAPIVersion.VERSION2, client_id="t")
    got: list[bytes | bytearray] = []
    client.on_message = lambda _c, _u, m: got.append(m.payload)
    one = _publish("a/b", 0, 0, b"x", False)

    def read(packets: int, pause: float) -> None:
        client.read_pause_s = pause
        client._sock = mqtt_wire.BufferedSocket(_Trickle([one * packets]))
        assert client.loop_read() == 0

    read(1, 0.0)
    assert rests == []  # off by default
    read(1, 0.002)
    assert rests == [0.002]  # a trickle: rest
    read(client.FEW_PACKETS + 1, 0.002)
    assert rests == [0.002]  # a read that brought many: straight on
    assert len(got) == 1 + 1 + client.FEW_PACKETS + 1
