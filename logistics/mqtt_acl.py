"""Mosquitto `password_file` and `acl_file` for the tracker fleet: a device may publish only under its own id.

Passwords are stored the way Mosquitto 2.0 reads them: `user:$7$<iterations>$<salt b64>$<hash b64>`, the hash
being PBKDF2-HMAC-SHA512 (as `mosquitto_passwd` writes them, 101 iterations and a 12-byte salt by default; the
device secrets are random 24-byte tokens, so the iteration count is not what protects them). The ACL gives
every user `pattern write <root>/devices/%u/#` (Mosquitto substitutes the authenticated username) and the
service user the whole topic tree.
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
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HASH = re.compile(r"^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


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
        "# Each device (username = device id) may publish only under its own id; nothing else.",
        f"pattern write {topic_root}/devices/%u/#",
        "",
    ]
    for user in services:
        out += [
            f"user {user}",
            f"topic readwrite {topic_root}/#",
            "topic read $SYS/#",
            "",
        ]
    return "\n".join(out)


def write_config(
    out_dir: Path,
    devices: Iterable[Credential],
    service: Credential,
    topic_root: str = TOPIC_ROOT,
) -> tuple[Path, Path]:
    """Write `passwords` and `acl` into out_dir (created if needed, files mode 0600); returns their paths."""
    passwords = password_file([service, *devices])
    acl = acl_file([service.username], topic_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("passwords", passwords), ("acl", acl)):
        path = out_dir / name
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)  # atomic: a broker reloading on SIGHUP never reads half a file
        written.append(path)
    return written[0], written[1]
