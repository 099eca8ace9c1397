"""Broker access for the tracker fleet: a device may publish only under its own id.

One table of rules (`DEVICE_RULES`, `SERVICE_RULES`) is written out as Mosquitto's `acl_file` and evaluated
in-process by `TopicAccess` for the embedded broker, so both brokers enforce the same thing.

Passwords are stored the way Mosquitto 2.0 reads them: `user:$7$<iterations>$<salt b64>$<hash b64>`, the hash
being PBKDF2-HMAC-SHA512 (as `mosquitto_passwd` writes them, 101 iterations and a 12-byte salt by default; the
device secrets are random 24-byte tokens, so the iteration count is not what protects them). The ACL gives
every user `pattern write <root>/devices/%u/#` and `pattern read <root>/deadletter/%u` (Mosquitto substitutes
the authenticated username: a device reads why its own readings were refused, nobody else's) and the service
user the whole topic tree.

Client ids: a device's session always runs under its device id, whatever client id it sends (Mosquitto's
`use_username_as_clientid true` on the trackers' listener; `TopicAccess.client_id` on the embedded broker), so
it can never take over another client's session. The service's client ids start with `xborder-` (its
`XB_MQTT_CLIENT_PREFIX` and the probe's); device ids starting with a service prefix, or equal to a service
username, are reserved (`reserved_for_service`): refused at registration, at login and in the password file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import InvalidInput

TOPIC_ROOT = "xborder/v1"
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default
SALT_BYTES = 12
# Device ids become a topic level and the broker username: no '/', '+', '#', ':' or spaces.
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # \Z: `$` would let a trailing newline in
_HASH = re.compile(r"^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")

# (access, topic pattern under the root) in Mosquitto's words: `write` publishes, `read` subscribes and
# receives. `%u` is the authenticated username, i.e. the device id.
SERVICE_CLIENT_PREFIXES: tuple[str, ...] = ("xborder-",)
DEVICE_RULES: tuple[tuple[str, str], ...] = (("write", "devices/%u/#"), ("read", "deadletter/%u"))
SERVICE_RULES: tuple[tuple[str, str], ...] = (("readwrite", "#"),)


def reserved_for_service(
    name: str, service_users: Iterable[str] = (), prefixes: Iterable[str] = SERVICE_CLIENT_PREFIXES
) -> bool:
    """True when a device may not use `name` as its id: a service username, or a service client id prefix."""
    folded = name.casefold()
    return name in set(service_users) or any(folded.startswith(p.casefold()) for p in prefixes if p)


@dataclass(frozen=True)
class Credential:
    """A broker user: give the password (hashed here) or a `$7$` hash already stored (the devices table)."""

    username: str
    password: str | None = None
    password_hash: str | None = None


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    match = _HASH.match(encoded)
    if match is None:
        return False
    iterations, salt_b64, _ = match.groups()
    expected = hash_password(password, salt=base64.b64decode(salt_b64), iterations=int(iterations))
    return hmac.compare_digest(expected, encoded)


def password_file(credentials: Iterable[Credential]) -> str:
    """The `password_file` text, one `user:hash` line per user, sorted; refuses bad or repeated names."""
    lines: dict[str, str] = {}
    problems: list[dict[str, str]] = []
    for c in credentials:
        if not USERNAME.match(c.username):
            problems.append({"field": c.username[:80], "message": "not a valid device id / broker username"})
            continue
        if c.username in lines:
            problems.append({"field": c.username, "message": "appears twice"})
            continue
        if c.password_hash is not None:
            if _HASH.match(c.password_hash) is None:
                problems.append({"field": c.username, "message": "stored hash is not in Mosquitto $7$ form"})
                continue
            encoded = c.password_hash
        elif c.password:
            encoded = hash_password(c.password)
        else:
            problems.append({"field": c.username, "message": "needs a password or a stored hash"})
            continue
        lines[c.username] = f"{c.username}:{encoded}"
    if problems:
        raise InvalidInput("cannot write the Mosquitto password file", errors=problems)
    return "".join(f"{lines[name]}\n" for name in sorted(lines))


def acl_file(service_users: Iterable[str], topic_root: str = TOPIC_ROOT) -> str:
    """The `acl_file` text: the service users read and write the whole tree, each device only its own."""
    services = sorted(set(service_users))
    bad = [u for u in services if not USERNAME.match(u)]
    if bad or not services:
        raise InvalidInput("the ACL needs at least one valid service username", errors=[
            {"field": u, "message": "not a valid broker username"} for u in bad
        ])  # fmt: skip
    out = [
        "# Written by `xborder mqtt-config`; do not edit by hand.",
        "# A device (username = device id) publishes only under its own id and reads only its dead letters.",
        *(f"pattern {access} {topic_root}/{pattern}" for access, pattern in DEVICE_RULES),
        "",
    ]
    for user in services:
        out += [
            f"user {user}",
            *(f"topic {access} {topic_root}/{pattern}" for access, pattern in SERVICE_RULES),
            "topic read $SYS/#",
            "",
        ]
    return "\n".join(out)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching of a concrete topic against a filter with `+` and `#`."""
    want, got = topic_filter.split("/"), topic.split("/")
    if got[0].startswith("$") and want[0] in ("+", "#"):
        return False  # wildcards never match the broker's `$` topics at the first level
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(got) or (level != "+" and level != got[i]):
            return False
    return len(want) == len(got)


def filter_within(allowed: str, requested: str) -> bool:
    """True when every topic the `requested` filter can match is matched by the `allowed` one."""
    have, want = allowed.split("/"), requested.split("/")
    for i, level in enumerate(have):
        if level == "#":
            return True
        if i >= len(want) or want[i] == "#":
            return False
        if level != "+" and level != want[i]:  # a literal covers only itself, not `+`
            return False
    return len(have) == len(want)


@dataclass(frozen=True)
class TopicAccess:
    """The ACL above, evaluated in-process (embedded broker): who may publish, subscribe to, receive what."""

    service_users: frozenset[str]
    topic_root: str = TOPIC_ROOT

    def _patterns(self, username: str, access: str) -> list[str]:
        if username in self.service_users:
            rules = SERVICE_RULES
        elif USERNAME.match(username):  # never substitute a name that could widen the pattern (+, #, /)
            rules = DEVICE_RULES
        else:
            return []
        return [
            f"{self.topic_root}/{pattern.replace('%u', username)}"
            for kind, pattern in rules
            if access in kind  # "readwrite" grants both
        ]

    def client_id(self, username: str, requested: str) -> str:
        """The client id a session of `username` runs under: a device's is its device id, always."""
        return requested if username in self.service_users else username

    def may_publish(self, username: str, topic: str) -> bool:
        return any(topic_matches(p, topic) for p in self._patterns(username, "write"))

    def may_subscribe(self, username: str, topic_filter: str) -> bool:
        if topic_filter.startswith("$share/"):  # a shared subscription reads its inner filter
            parts = topic_filter.split("/", 2)
            topic_filter = parts[2] if len(parts) == 3 else ""
        return bool(topic_filter) and any(
            filter_within(p, topic_filter) for p in self._patterns(username, "read")
        )

    def may_receive(self, username: str, topic: str) -> bool:
        return any(topic_matches(p, topic) for p in self._patterns(username, "read"))


def write_config(
    out_dir: Path,
    devices: Iterable[Credential],
    service: Credential,
    topic_root: str = TOPIC_ROOT,
) -> tuple[Path, Path]:
    """Write `passwords` (the devices'), `service-passwords` (the service account's) and `acl` into out_dir
    (created if needed, files mode 0600); returns the paths of `passwords` and `acl`.

    The shipped mosquitto.conf reads the devices' file on the trackers' listener (client id = username) and
    the service's on the service listener (any client id): a device can never log in where it could choose
    a client id, and the service never where its connections would take each other's client id."""
    devices = list(devices)
    reserved = [d.username for d in devices if reserved_for_service(d.username, [service.username])]
    if reserved:
        raise InvalidInput("device ids reserved for the service", errors=[
            {"field": u[:80], "message": "reserved for the MQTT service account"} for u in reserved
        ])  # fmt: skip
    passwords = password_file(devices)
    service_passwords = password_file([service])
    acl = acl_file([service.username], topic_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("passwords", passwords), ("acl", acl), ("service-passwords", service_passwords)):
        path = out_dir / name
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)  # atomic: a broker reloading on SIGHUP never reads half a file
        written.append(path)
    return written[0], written[1]
