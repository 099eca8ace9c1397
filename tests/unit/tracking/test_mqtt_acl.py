"""Mosquitto password and ACL files (pure); the broker itself is exercised in tests/integration."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest

from api.cli import main as cli_main
from kernel.errors import InvalidInput
from logistics.mqtt_acl import (
    Credential,
    TopicAccess,
    acl_file,
    hash_password,
    password_file,
    topic_matches,
    verify_password,
    write_config,
)


def test_hashes_are_mosquitto_pbkdf2_sha512() -> None:
    salt = bytes(range(12))
    encoded = hash_password("s3cret", salt=salt)
    _, seven, iterations, salt_b64, digest_b64 = encoded.split("$")
    assert (seven, iterations, base64.b64decode(salt_b64)) == ("7", "101", salt)
    assert base64.b64decode(digest_b64) == hashlib.pbkdf2_hmac("sha512", b"s3cret", salt, 101)
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret!", encoded)
    assert not verify_password("s3cret", "$6$abc$def")
    assert hash_password("s3cret") != hash_password("s3cret")  # a fresh salt each time


def test_the_password_file_has_one_sorted_line_per_user_and_takes_stored_hashes() -> None:
    stored = hash_password("from-the-db")
    text = password_file([Credential("trk-b", password="pb"), Credential("trk-a", password_hash=stored)])
    lines = text.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["trk-a", "trk-b"]
    assert lines[0] == f"trk-a:{stored}"
    assert verify_password("pb", lines[1].split(":", 1)[1])


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        (Credential("trk/other", password="p"), "not a valid device id"),
        (Credential("trk+", password="p"), "not a valid device id"),
        (Credential("a:b", password="p"), "not a valid device id"),
        (Credential("trk-1"), "needs a password or a stored hash"),
        (Credential("trk-1", password_hash="plain"), "not in Mosquitto $7$ form"),
    ],
)
def test_bad_credentials_are_refused_and_named(credential: Credential, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        password_file([Credential("ok-1", password="p"), credential])
    [error] = caught.value.errors or []
    assert message in error["message"]


def test_a_repeated_user_is_refused() -> None:
    with pytest.raises(InvalidInput, match="cannot write"):
        password_file([Credential("trk-1", password="p"), Credential("trk-1", password="q")])


def test_the_acl_lets_devices_write_only_their_own_subtree() -> None:
    text = acl_file(["xb-svc"])
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "pattern write xborder/v1/devices/%u/#",
        "pattern read xborder/v1/deadletter/%u",
        "user xb-svc",
        "topic readwrite xborder/v1/#",
        "topic read $SYS/#",
    ]
    with pytest.raises(InvalidInput):
        acl_file([])


def test_write_config_writes_private_files(tmp_path: Path) -> None:
    passwords, acl = write_config(
        tmp_path / "etc", [Credential("trk-1", password="p")], Credential("svc", "s")
    )
    assert passwords.read_text().count("\n") == 1  # the devices'; the service's is apart
    assert (tmp_path / "etc" / "service-passwords").read_text().startswith("svc:$7$")
    assert "user svc" in acl.read_text()
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == ["acl", "passwords", "service-passwords"]


def test_the_cli_refuses_bad_arguments_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert cli_main(["mqtt-config", "--out", str(out), "--service-password", "s", "--device", "trk-1"]) == 2
    assert cli_main(["mqtt-config", "--out", str(out), "--service-password", "s", "--device", "a/b:p"]) == 2
    assert cli_main(["mqtt-config", "--out", str(out), "--device", "trk-1:p"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "ID:PASSWORD" in err and "a/b: not a valid device id" in err and "--service-password" in err
    assert cli_main(["mqtt-config", "--out", str(out), "--service-password", "s", "--device", "trk-1:p"]) == 0
    assert "wrote" in capsys.readouterr().out
    users = [line.split(":", 1)[0] for line in (out / "passwords").read_text().splitlines()]
    assert users == ["trk-1"]
    assert (out / "service-passwords").read_text().startswith("xborder-service:")


ACCESS = TopicAccess(frozenset({"xb-svc"}))


def test_the_embedded_acl_lets_a_device_publish_under_its_own_id_only() -> None:
    assert ACCESS.may_publish("trk-1", "xborder/v1/devices/trk-1/telemetry")
    assert ACCESS.may_publish("trk-1", "xborder/v1/devices/trk-1/status")
    for topic in (
        "xborder/v1/devices/trk-2/telemetry",  # another device
        "xborder/v1/devices/trk-10/telemetry",  # a prefix of its id is not its id
        "xborder/v1/waybills/XB1/status",
        "xborder/v1/deadletter/trk-1",
        "xborder/v1/devices",
        "elsewhere/devices/trk-1/telemetry",
    ):
        assert not ACCESS.may_publish("trk-1", topic), topic
    # A name that is not a device id never widens the pattern.
    assert not ACCESS.may_publish("+", "xborder/v1/devices/+/telemetry")
    assert not ACCESS.may_publish("a/b", "xborder/v1/devices/a/b/telemetry")
    assert ACCESS.may_publish("xb-svc", "xborder/v1/waybills/XB1/status")


def test_a_device_reads_only_its_own_dead_letters() -> None:
    assert ACCESS.may_subscribe("trk-1", "xborder/v1/deadletter/trk-1")
    assert ACCESS.may_receive("trk-1", "xborder/v1/deadletter/trk-1")
    for topic_filter in (
        "xborder/v1/deadletter/trk-2",
        "xborder/v1/deadletter/+",
        "xborder/v1/deadletter/#",
        "xborder/v1/devices/trk-1/telemetry",  # write-only, like Mosquitto's `pattern write`
        "xborder/v1/devices/+/telemetry",
        "xborder/v1/waybills/+/status",
        "#",
        "$share/g/xborder/v1/deadletter/#",
    ):
        assert not ACCESS.may_subscribe("trk-1", topic_filter), topic_filter
    assert not ACCESS.may_receive("trk-1", "xborder/v1/deadletter/trk-2")
    assert not ACCESS.may_receive("trk-1", "xborder/v1/waybills/XB1/status")


def test_the_service_reads_and_writes_the_whole_tree() -> None:
    for topic_filter in (
        "xborder/v1/#",
        "xborder/v1/devices/+/telemetry",
        "$share/ingest/xborder/v1/devices/+/telemetry",
        "xborder/v1/deadletter/trk-1",
    ):
        assert ACCESS.may_subscribe("xb-svc", topic_filter), topic_filter
    assert not ACCESS.may_subscribe("xb-svc", "#")  # outside the topic root
    assert not ACCESS.may_subscribe("xb-svc", "$share/ingest")
    assert ACCESS.may_receive("xb-svc", "xborder/v1/devices/trk-1/telemetry")


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("a/+/c", "a/b/c", True),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/+", "a/b/c", False),
        ("a/b", "a/b/c", False),
        ("#", "$SYS/x", False),
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
    ],
)
def test_topic_matching_follows_mqtt(topic_filter: str, topic: str, matches: bool) -> None:
    assert topic_matches(topic_filter, topic) is matches
