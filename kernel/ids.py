"""Identifiers: sortable unique ids and human-readable document numbers."""

from __future__ import annotations

import os
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str = "") -> str:
    """A ULID-like id: 48 bits of milliseconds then 80 random bits, Crockford base32, time-sortable."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    ulid = "".join(reversed(chars))
    return f"{prefix}_{ulid}" if prefix else ulid


def document_number(prefix: str) -> str:
    """E.g. a waybill number `XBW` + 10 Crockford characters; readable aloud, no I/L/O/U."""
    return prefix + "".join(secrets.choice(_CROCKFORD) for _ in range(10))
