"""Webhooks: no internal targets (at registration and at every delivery), secrets sealed at rest and kept
out of error text, and a timestamped signature beside the contract's."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from api.migrate import alembic_config
from kernel.clock import FixedClock
from kernel.db import Database, make_engine
from kernel.identity import Role, TenantKind
from kernel.outbound import TargetPolicy
from kernel.sealing import is_sealed
from kernel.settings import DEV_SECRET
from logistics.tables import webhook_outbox, webhooks
from logistics.webhook_delivery import MAX_ATTEMPTS, deliver_due, httpx_sender
from logistics.webhooks import RegisterWebhook, register_webhook, secret_box
from tests.conftest import T0, Keys

SECRET = "a-very-long-shared-secret-0123"
BOX = secret_box(DEV_SECRET)


class Receiver:
    """An HTTP receiver on loopback that records what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


INTERNAL_URLS = [
    ("http://127.0.0.1:8000/hook", "loopback"),
    ("http://127.1.2.3/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.0.0.5/hook", "private"),
    ("http://172.16.4.1/hook", "private"),
    ("http://192.168.1.10/hook", "private"),
    ("http://[::1]:8000/hook", "loopback"),
    ("http://[fc00::1]/hook", "private"),
    ("http://[fd12:3456::1]/hook", "private"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://0.0.0.0:8000/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
    ("http://localhost:8000/hook", "loopback"),
    ("http://api.localhost/hook", "loopback"),
]


@pytest.mark.parametrize(("url", "kind"), INTERNAL_URLS)
def test_registering_an_internal_target_is_a_422_problem(
    client: TestClient, keys: Keys, url: str, kind: str
) -> None:
    r = client.post(
        "/v1/webhooks",
        headers=keys.headers(Role.FORWARDER),
        json={"url": url, "events": ["waybill.status"], "secret": SECRET},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert kind in problem["detail"] and "XB_WEBHOOK_ALLOW_HOSTS" in problem["detail"]
    assert problem["errors"][0]["field"] == "url"


def test_a_public_name_is_registered_and_its_secret_is_stored_sealed(
    client: TestClient, keys: Keys, container: Any
) -> None:
    r = client.post(
        "/v1/webhooks",
        headers=keys.headers(Role.FORWARDER),
        json={"url": "https://hooks.example.com/xborder", "events": ["*"], "secret": SECRET},
    )
    assert r.status_code == 201, r.text
    with container.db.session() as s:
        stored = s.execute(select(webhooks.c.secret).where(webhooks.c.id == r.json()["id"])).scalar_one()
    assert SECRET not in stored and is_sealed(stored)
    assert BOX.open(stored) == SECRET


def test_the_allow_list_lets_a_receiver_on_the_premises_be_registered(keys: Keys, database: Database) -> None:
    tenant = keys.tenant(TenantKind.FORWARDER)
    allow = TargetPolicy.parse("10.20.0.0/16, erp.localhost")
    with database.session() as s:
        for url in ("http://10.20.3.4:8080/hook", "http://erp.localhost/hook"):
            register_webhook(s, RegisterWebhook(tenant, url, ("*",), SECRET), keys.clock.now(), allow, BOX)


def _hook_with_one_call(database: Database, keys: Keys, url: str, policy: TargetPolicy) -> tuple[str, int]:
    """A webhook on `url` and one due delivery for it (the outbox row's id)."""
    tenant = keys.tenant(TenantKind.FORWARDER)
    now = keys.clock.now()
    with database.session() as s:
        hook = register_webhook(s, RegisterWebhook(tenant, url, ("*",), SECRET), now, policy, BOX)
        row = s.execute(
            insert(webhook_outbox)
            .values(
                webhook_id=hook,
                event="waybill.status",
                body='{"event": "waybill.status", "data": {}}',
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .returning(webhook_outbox.c.id)
        ).scalar_one()
    return hook, int(row)


def _outbox(database: Database, row: int) -> Any:
    with database.session() as s:
        return s.execute(select(webhook_outbox).where(webhook_outbox.c.id == row)).one()


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["93.184.216.34", "169.254.169.254"], ["::1"]])
def test_a_name_that_resolves_to_an_internal_address_is_refused_at_delivery_and_not_retried(
    database: Database, keys: Keys, clock: FixedClock, answers: list[str]
) -> None:
    policy = TargetPolicy()
    hook, row = _hook_with_one_call(database, keys, "https://rebind.example.com/hook", policy)
    asked: list[tuple[str, int]] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return answers

    send = httpx_sender(policy, lookup=rebinding)
    with database.session() as s:
        deliver_due(s, clock.now(), send, BOX)
    assert asked == [("rebind.example.com", 443)]
    done = _outbox(database, row)
    assert done.delivered_at is None and done.attempts == MAX_ATTEMPTS
    assert done.last_error.startswith("refused: rebind.example.com resolves to ")
    assert "XB_WEBHOOK_ALLOW_HOSTS" in done.last_error
    clock.advance(timedelta(days=2))
    with database.session() as s:
        deliver_due(s, clock.now(), send, BOX)
    assert len(asked) == 1  # closed: never tried again


def test_an_allowed_receiver_gets_the_call_on_the_checked_address_with_both_signatures(
    database: Database, keys: Keys, clock: FixedClock, receiver: Receiver
) -> None:
    policy = TargetPolicy.parse("127.0.0.0/8")
    url = f"http://receiver.example:{receiver.port}/hook"
    _, row = _hook_with_one_call(database, keys, url, policy)
    # The name resolves to the receiver's loopback address: the call goes there, the Host stays the URL's.
    send = httpx_sender(policy, lookup=lambda host, port: ["127.0.0.1"])
    with database.session() as s:
        deliver_due(s, clock.now(), send, BOX, wall_time=lambda: 1_800_000_000.9)
    assert _outbox(database, row).delivered_at is not None
    [(headers, body)] = receiver.received
    assert headers["host"] == f"receiver.example:{receiver.port}"
    assert headers["x-xborder-signature"] == "sha256=" + hmac.new(SECRET.encode(), body, "sha256").hexdigest()
    signed = hmac.new(SECRET.encode(), b"1800000000." + body, hashlib.sha256).hexdigest()
    assert headers["x-xborder-timestamped-signature"] == f"t=1800000000,v1={signed}"


def test_without_the_allow_list_a_loopback_receiver_is_never_called(
    database: Database, keys: Keys, clock: FixedClock, receiver: Receiver
) -> None:
    registered_when_allowed = TargetPolicy.parse("127.0.0.1")
    _, row = _hook_with_one_call(
        database, keys, f"http://127.0.0.1:{receiver.port}/hook", registered_when_allowed
    )
    with database.session() as s:
        deliver_due(s, clock.now(), httpx_sender(TargetPolicy()), BOX)
    done = _outbox(database, row)
    assert done.delivered_at is None and done.attempts == MAX_ATTEMPTS
    assert done.last_error.startswith("refused: 127.0.0.1 resolves to 127.0.0.1 is a loopback address")
    assert receiver.received == []


def test_a_failed_insert_does_not_put_the_secret_into_the_error_text(database: Database) -> None:
    plaintext = "plaintext-secret-that-must-not-leak"
    with pytest.raises(IntegrityError) as failure, database.session() as s:
        s.execute(
            insert(webhooks).values(
                id="wh_leak_probe",
                tenant_id="no-such-tenant",
                url="https://hooks.example.com/",
                events=["*"],
                secret=plaintext,
                created_at=T0,
                active=True,
            )
        )
    assert plaintext not in str(failure.value)
    assert "hidden" in str(failure.value)


def test_the_migration_seals_the_secrets_stored_in_plaintext(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before-sealing.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "l0007")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenants (id, name, kind, created_at) "
                "VALUES ('t1', 'old co', 'forwarder', '2027-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO webhooks (id, tenant_id, url, events, secret, created_at, active) VALUES "
                "('wh_old', 't1', 'https://hooks.example.com/', '[\"*\"]', :s, '2027-01-01', 1)"
            ),
            {"s": SECRET},
        )
    command.upgrade(cfg, "heads")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret FROM webhooks WHERE id = 'wh_old'")).scalar_one()
    assert is_sealed(stored) and BOX.open(stored) == SECRET
    command.downgrade(cfg, "l0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT secret FROM webhooks WHERE id = 'wh_old'")).scalar_one() == SECRET
    engine.dispose()
