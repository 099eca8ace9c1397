"""Outbound HTTP targets: which addresses the service may call on a tenant's behalf (webhooks).

A tenant names the URL, so without a check the service would call its own ports on loopback, the cloud
metadata service (169.254.169.254) or anything else on the private network for it (server-side request
forgery). By default only globally routable unicast addresses may be called; `XB_WEBHOOK_ALLOW_HOSTS` names
host names and addresses or networks (CIDR) that may be called anyway, for receivers on the premises.

A target is checked twice. When a URL is registered, an address literal or a `localhost` name is refused at
once (no DNS lookup in the request). When it is called, the host name is resolved and every address it
resolves to must pass; the connection then goes to an address that was checked, never to a second lookup's
answer, so a name that answers differently the second time (DNS rebinding) cannot slip past.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Lookup = Callable[[str, int], list[str]]  # (host, port) -> the addresses it resolves to

ALLOW_SETTING = "XB_WEBHOOK_ALLOW_HOSTS"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # IPv4 behind a NAT64 gateway: judged by its IPv4 address
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


class TargetRefused(Exception):
    """The service must not call this target; the message says why and which setting would allow it."""


def address_kind(address: IPAddress) -> str | None:
    """Why an address is internal ("a loopback address", ...), or None for a global unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in _NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (such as the cloud metadata service)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a globally routable address"
    return None


def system_lookup(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now, through the system resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _host_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise TargetRefused("the URL has no host")
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class TargetPolicy:
    """Global unicast addresses, and whatever the allow-list names (host names, addresses, networks)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TargetPolicy:
        """From a comma- or space-separated list such as `erp.example.internal, 10.20.0.0/16, 127.0.0.1`."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in re.split(r"[,\s]+", text.strip()):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.rstrip(".").lower()
            if not _HOST_NAME.match(name):
                raise ValueError(f"{ALLOW_SETTING}: {entry!r} is neither a host name nor an address or CIDR")
            hosts.add(name)
        return cls(frozenset(hosts), tuple(networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why the service must not call `address`, or None when it may."""
        if any(address.version == net.version and address in net for net in self.networks):
            return None
        kind = address_kind(address)
        return None if kind is None else f"{address} is {kind}"

    def check_url(self, url: str) -> None:
        """Refuse, at registration, a URL whose host is an internal address literal or a `localhost` name."""
        host, _ = _host_of(url)
        if host in self.hosts:
            return
        literal = _literal(host)
        if literal is not None:
            reason = self.refusal(literal)
        elif host == "localhost" or host.endswith(".localhost"):
            reason = f"{host} is a loopback name"
        else:
            return  # a name: resolved and checked on every delivery
        if reason is not None:
            raise TargetRefused(f"{reason}; {ALLOW_SETTING} may allow it for a receiver on the premises")

    def resolve(self, url: str, lookup: Lookup = system_lookup) -> list[IPAddress]:
        """The addresses to connect to for `url`; refused when any address its host resolves to is refused."""
        host, port = _host_of(url)
        literal = _literal(host)
        found = [literal] if literal is not None else [ipaddress.ip_address(a) for a in lookup(host, port)]
        if not found:
            raise OSError(f"{host} resolves to no address")
        if host in self.hosts:
            return found
        for address in found:
            reason = self.refusal(address)
            if reason is not None:
                raise TargetRefused(f"{host} resolves to {reason}; {ALLOW_SETTING} may allow it")
        return found
