"""The communicator's topic matcher agrees with paho's reference `topic_matches_sub` on every filter/topic."""

from __future__ import annotations

import paho.mqtt.client as paho
from hypothesis import given
from hypothesis import strategies as st

from kernel.mqtt import topic_matches

LEVEL = st.sampled_from(["a", "b", "xborder", "v1", "", "$SYS", "devices"])
FILTER_LEVEL = st.one_of(LEVEL, st.just("+"))


@st.composite
def topic_filters(draw: st.DrawFn) -> str:
    levels = draw(st.lists(FILTER_LEVEL, min_size=1, max_size=5))
    if draw(st.booleans()):
        levels.append("#")
    return "/".join(levels)


@given(topic_filter=topic_filters(), topic=st.lists(LEVEL, min_size=1, max_size=6).map("/".join))
def test_agrees_with_paho(topic_filter: str, topic: str) -> None:
    assert topic_matches(topic_filter, topic) == paho.topic_matches_sub(topic_filter, topic)


def test_examples() -> None:
    assert topic_matches("xborder/v1/devices/+/telemetry", "xborder/v1/devices/trk-1/telemetry")
    assert not topic_matches("xborder/v1/devices/+/telemetry", "xborder/v1/devices/trk-1/status")
    assert topic_matches("xborder/#", "xborder")
    assert not topic_matches("#", "$SYS/broker/uptime")
    assert topic_matches("$SYS/#", "$SYS/broker/uptime")
