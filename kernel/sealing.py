"""Secrets the service must be able to read again (webhook secrets), sealed at rest under `XB_SECRET_KEY`.

A sealed value is `fernet:v1:<Fernet token>` (AES-128-CBC with an HMAC-SHA256, from the `cryptography`
package); the Fernet key is derived from `XB_SECRET_KEY` with HKDF-SHA256 and a purpose label, so the
setting itself is never the key of anything and each purpose gets its own key. A value sealed under one
`XB_SECRET_KEY` opens only under the same one: changing the setting makes stored webhook secrets unreadable
(their deliveries fail with that reason) until their owners register them again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:v1:"


class SealError(Exception):
    """A sealed value that this key cannot open (another `XB_SECRET_KEY`, or not sealed at all)."""


class SecretBox:
    """Seals and opens short secrets with a key derived from the service's secret key for one purpose."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"xborder/{purpose}".encode()
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        """The sealed text of `plaintext` (different on every call: Fernet adds a random IV and a time)."""
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plaintext of a value `seal` made; raises `SealError` for anything else."""
        if not is_sealed(sealed):
            raise SealError("the value is not sealed")
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SealError("the value was sealed under another XB_SECRET_KEY or is damaged") from exc


def is_sealed(value: str) -> bool:
    """Whether `value` looks like the output of `SecretBox.seal` (stored rows from before sealing do not)."""
    return value.startswith(PREFIX)
