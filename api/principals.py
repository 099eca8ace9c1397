"""A short-lived memory of authenticated API keys: a request need not open a transaction to read its key.

Only successful authentications are remembered, under the SHA-256 of the secret (never the secret itself),
for `ttl` seconds: a key revoked in the database is refused again at most `ttl` seconds later, a newly issued
key works at once, and a wrong secret is always checked against the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kernel.identity import Principal, hash_key

MAX_KEYS = 10_000


class PrincipalCache:
    def __init__(self, ttl: float, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._now = now
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, Principal]] = {}

    def get(self, secret: str) -> Principal | None:
        if self.ttl <= 0:
            return None
        digest = hash_key(secret)
        with self._lock:
            found = self._known.get(digest)
            if found is None:
                return None
            if found[0] <= self._now():
                del self._known[digest]
                return None
            return found[1]

    def forget_key(self, key_id: str) -> None:
        """Drop the remembered authentications of one key (just revoked here)."""
        with self._lock:
            self._known = {k: v for k, v in self._known.items() if v[1].key_id != key_id}

    def put(self, secret: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        digest = hash_key(secret)
        with self._lock:
            if len(self._known) >= MAX_KEYS:
                now = self._now()
                self._known = {k: v for k, v in self._known.items() if v[0] > now}
                if len(self._known) >= MAX_KEYS:
                    self._known.clear()
            self._known[digest] = (self._now() + self.ttl, principal)
