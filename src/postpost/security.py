"""API-key generation and hashing, and encryption of secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
    return digits or "0"


def generate_api_key() -> str:
    """A new key in the documented format `sk_<base36 ms>_<hex>.<hex>`."""
    return f"sk_{_base36(int(time.time() * 1000))}_{secrets.token_hex(8)}.{secrets.token_hex(20)}"


def key_prefix(raw_key: str) -> str:
    """The clear-text lookup prefix: everything before the dot (`legacy` for dot-less keys)."""
    return raw_key.split(".", 1)[0] if "." in raw_key else "legacy"


class KeyHasher:
    """Keyed hash (HMAC-SHA-256 with a server pepper) of high-entropy API keys."""

    def __init__(self, pepper: bytes) -> None:
        self._pepper = hashlib.sha256(b"postpost-api-key|" + pepper).digest()

    def hash(self, raw_key: str) -> str:
        return hmac.new(self._pepper, raw_key.encode(), hashlib.sha256).hexdigest()

    def verify(self, raw_key: str, stored_hash: str) -> bool:
        return hmac.compare_digest(self.hash(raw_key), stored_hash)


class SecretsUnreadable(ValueError):
    """Stored secrets cannot be decrypted: they were encrypted with another POSTPOST_SECRET_KEY."""


class SecretBox:
    """Authenticated encryption (Fernet) of platform tokens and webhook secrets."""

    def __init__(self, secret_key: bytes) -> None:
        derived = hashlib.sha256(b"postpost-secret-box|" + secret_key).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def decrypt(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise SecretsUnreadable(
                "stored secrets cannot be decrypted with this POSTPOST_SECRET_KEY "
                "(they were encrypted with another key)"
            ) from exc
        return data


def key_fingerprint(secret_key: bytes) -> str:
    """A keyed hash identifying `secret_key` without revealing anything about it.

    Stored in the database the first time a process starts, so a process with another key is refused.
    """
    return hmac.new(secret_key, b"postpost-instance-fingerprint|v1", hashlib.sha256).hexdigest()
