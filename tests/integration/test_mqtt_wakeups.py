"""Packets queued inside `held_wakeups()` (acknowledgements, status messages) all go out, from any thread."""

from __future__ import annotations

import contextlib
import os
import threading
import time

from kernel.mqtt import BrokerAddress, Message, PahoCommunicator, held_wakeups


def test_messages_queued_while_wakeups_are_held_are_all_delivered(broker_url: str) -> None:
    address = BrokerAddress.parse(broker_url)
    tag = f"xbt-wake-{os.getpid()}"
    got: list[Message] = []
    all_in = threading.Event()
    sub = PahoCommunicator(address, f"{tag}-sub").start()
    pub = PahoCommunicator(address, f"{tag}-pub").start()
    try:

        def on_message(m: Message) -> None:
            got.append(m)
            if len(got) == 300:
                all_in.set()

        sub.subscribe(f"{tag}/+", on_message, qos=1)
        time.sleep(0.5)  # subscribed

        def burst(start: int) -> None:  # from a thread other than paho's, as the ingest's batch thread
            with held_wakeups(pub):
                assert pub.client._sockpairW is None  # the wake-ups are held
                for i in range(start, start + 100):
                    pub.publish(f"{tag}/{i}", str(i), qos=1 if i % 2 else 0)

        for start in (0, 100, 200):
            t = threading.Thread(target=burst, args=(start,))
            t.start()
            t.join()
            assert pub.client._sockpairW is not None  # and given back
        assert all_in.wait(20), f"{len(got)} of 300 delivered"
        assert sorted(int(m.payload) for m in got) == list(range(300))
    finally:
        pub.stop()
        sub.stop()


def test_a_communicator_without_wakeups_gets_a_plain_block() -> None:
    """A communicator with no `held_wakeups` (the fake, the embedded broker's) gets a block that runs its body
    once and leaves the communicator as it was."""

    class Plain:
        pass

    plain = Plain()
    ran: list[str] = []
    block = held_wakeups(plain)
    assert isinstance(block, contextlib.nullcontext)
    with block:
        ran.append("body")
    assert ran == ["body"]
    assert vars(plain) == {}


def test_acknowledged_together_the_broker_sends_on(broker_url: str) -> None:
    """With a Receive Maximum of 5 the broker sends a 6th message only once earlier ones are acknowledged:
    120 messages arrive only if `ack_many`'s one write acknowledges every message it names. (Mosquitto holds
    to the Receive Maximum; the embedded broker does not, so there this checks delivery alone.)"""
    address = BrokerAddress.parse(broker_url)
    tag = f"xbt-ackmany-{os.getpid()}"
    got: list[Message] = []
    lock = threading.Lock()
    sub = PahoCommunicator(address, f"{tag}-sub", persistent=True, manual_ack=True, max_inflight=5)
    sub.session_expiry_s = 60
    sub.start()
    pub = PahoCommunicator(address, f"{tag}-pub").start()
    stop = threading.Event()

    def on_message(m: Message) -> None:
        with lock:
            got.append(m)

    def acker() -> None:  # the ingest's batch thread: acknowledges what arrived, together
        done = 0
        while not stop.is_set():
            with lock:
                fresh = got[done:]
            if fresh:
                with held_wakeups(sub):
                    sub.ack_many(fresh)
                done += len(fresh)
            time.sleep(0.05)

    thread = threading.Thread(target=acker, daemon=True)
    try:
        sub.subscribe(f"{tag}/+", on_message, qos=1)
        time.sleep(0.5)
        thread.start()
        for i in range(120):
            pub.publish(f"{tag}/{i}", str(i), qos=1)
        deadline = time.monotonic() + 20
        while len(got) < 120 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(int(m.payload) for m in got) == list(range(120))
    finally:
        stop.set()
        thread.join(5)
        pub.stop()
        sub.stop()
