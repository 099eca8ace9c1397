"""XB_WEBHOOK_ALLOW_HOSTS and the outbound policy: internal addresses refused unless allowed, every resolved
address checked."""

from __future__ import annotations

import ipaddress

import pytest

from kernel.outbound import TargetPolicy, TargetRefused, address_kind
from kernel.settings import Settings


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("fdff:ffff::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # 169.254.169.254 through a NAT64 gateway
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not a globally routable"),  # carrier-grade NAT
    ],
)
def test_internal_addresses_are_named(address: str, kind: str) -> None:
    found = address_kind(ipaddress.ip_address(address))
    assert found is not None and kind in found


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_global_addresses_are_allowed(address: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) is None
    assert TargetPolicy().refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_reads_names_addresses_and_networks() -> None:
    policy = Settings(
        webhook_allow_hosts="ERP.Example.Internal., 10.20.0.0/16 127.0.0.1,[::1]"
    ).webhook_targets
    assert policy.hosts == frozenset({"erp.example.internal"})
    assert [str(n) for n in policy.networks] == ["10.20.0.0/16", "127.0.0.1/32", "::1/128"]
    assert policy.refusal(ipaddress.ip_address("10.20.9.9")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.0.1")) == "10.21.0.1 is a private address"
    assert Settings().webhook_targets == TargetPolicy()


@pytest.mark.parametrize("value", ["http://10.0.0.1/", "10.0.0.0/33", "bad host!", "a..b"])
def test_an_unreadable_allow_list_is_refused_at_startup(value: str) -> None:
    with pytest.raises(ValueError, match="XB_WEBHOOK_ALLOW_HOSTS"):
        Settings(webhook_allow_hosts=value)


def test_registration_refuses_literals_and_localhost_but_leaves_names_to_delivery() -> None:
    policy = TargetPolicy()
    for url in ("http://127.0.0.1/", "http://[::1]:9/", "http://localhost/", "https://x.localhost/"):
        with pytest.raises(TargetRefused, match="XB_WEBHOOK_ALLOW_HOSTS"):
            policy.check_url(url)
    policy.check_url("https://hooks.example.com/h")
    policy.check_url("https://93.184.216.34/h")
    TargetPolicy.parse("localhost").check_url("http://localhost:8080/")
    TargetPolicy.parse("127.0.0.0/8").check_url("http://127.0.0.2/")


def test_delivery_checks_every_address_a_name_resolves_to() -> None:
    policy = TargetPolicy()
    assert [str(a) for a in policy.resolve("https://h.example/", lambda h, p: ["93.184.216.34"])] == [
        "93.184.216.34"
    ]
    with pytest.raises(TargetRefused, match="h.example resolves to 10.0.0.7 is a private address"):
        policy.resolve("https://h.example/", lambda h, p: ["93.184.216.34", "10.0.0.7"])
    asked: list[tuple[str, int]] = []

    def lookup(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    assert [str(a) for a in TargetPolicy.parse("h.example").resolve("http://H.example:81/", lookup)] == [
        "127.0.0.1"
    ]
    assert asked == [("h.example", 81)]
    with pytest.raises(OSError, match="no address"):
        policy.resolve("https://h.example/", lambda h, p: [])
