"""Fan-out of waybill status messages to Server-Sent-Events subscribers of this process.

Status messages travel over the broker (`xborder/v1/waybills/+/status`), so every `serve` replica sees the
changes made by any `ingest` process; each replica fans them out to its own SSE clients.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from kernel.mqtt import Message


class Broadcaster:
    def __init__(self) -> None:
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]:
        sub = (asyncio.get_running_loop(), asyncio.Queue[dict[str, Any]](maxsize=1000))
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]) -> None:
        with self._lock:
            self._subs.discard(sub)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            loop.call_soon_threadsafe(_offer, q, event)

    def on_mqtt(self, message: Message) -> None:
        try:
            data = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(data, dict) and "waybill_no" in data:
            self.publish({"event": "waybill.status", "data": data})


def _offer(q: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if q.full():  # a slow client loses the oldest updates, never blocks the others
        q.get_nowait()
    q.put_nowait(event)
