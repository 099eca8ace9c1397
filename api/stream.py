"""Fan-out of waybill status messages to Server-Sent-Events subscribers of this process.

Status messages travel over the broker (`xborder/v1/waybills/+/status`), so every `serve` replica sees the
changes made by any `ingest` process; each replica fans them out to its own SSE clients.

The waybill a message is about is the one its topic names: the broker's ACL decides who may publish under a
topic, while anyone who may publish there may write any body. A body that names another waybill than its
topic is dropped and counted, never delivered to that other waybill's subscribers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from kernel.mqtt import Message

log = logging.getLogger(__name__)


def waybill_of_topic(topic: str) -> str | None:
    """The waybill number of a `<root>/waybills/{waybill_no}/status` topic, else None."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[-1] != "status" or parts[-3] != "waybills" or not parts[-2]:
        return None
    return parts[-2]


class Broadcaster:
    def __init__(self) -> None:
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()
        self._lock = threading.Lock()
        self.dropped = 0  # status messages refused: no waybill in the topic, or a body naming another one

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]:
        sub = (asyncio.get_running_loop(), asyncio.Queue[dict[str, Any]](maxsize=1000))
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]) -> None:
        with self._lock:
            self._subs.discard(sub)

    def subscribers(self) -> int:
        """How many streams listen now."""
        with self._lock:
            return len(self._subs)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            loop.call_soon_threadsafe(_offer, q, event)

    def on_mqtt(self, message: Message) -> None:
        """Fan a retained waybill status message out, under the waybill its topic names."""
        waybill_no = waybill_of_topic(message.topic)
        if waybill_no is None:
            self._drop(message.topic, "the topic names no waybill")
            return
        if not message.payload:  # a retained message cleared: nothing to tell
            return
        try:
            data = json.loads(message.payload)
        except ValueError:
            self._drop(message.topic, "the body is not JSON")
            return
        if not isinstance(data, dict):
            self._drop(message.topic, "the body is not a JSON object")
            return
        named = data.get("waybill_no", waybill_no)
        if named != waybill_no:
            self._drop(message.topic, f"the body names waybill {str(named)[:80]!r}")
            return
        data["waybill_no"] = waybill_no
        self.publish({"event": "waybill.status", "data": data})

    def _drop(self, topic: str, reason: str) -> None:
        with self._lock:
            self.dropped += 1
        log.warning("waybill status message on %s dropped: %s", topic[:200], reason)


def _offer(q: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if q.full():  # a slow client loses the oldest updates, never blocks the others
        q.get_nowait()
    q.put_nowait(event)
