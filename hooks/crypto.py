"""Encryption of the webhook secrets that must be read back to be used (signing secret, basic-auth password,
header values): Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the project's secret key.

Unlike the tokens this service checks (stored as keyed hashes, portus/hashing.py), these are secrets it must
*send*, so a hash cannot do. Whoever holds the database and `secret_key_base` can read them; the database
alone cannot. Changing `secret_key_base` makes them unreadable: the deliveries then fail saying so, and an
owner sets a new password and rotates the signing secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

_PURPOSE = b"portus:hooks:encryption"


class SecretUnreadable(ValueError):
    """Encrypted under another secret key (secret_key_base changed), or damaged."""


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(hmac.new(str(key).encode(), _PURPOSE, hashlib.sha256).digest()))
        for key in keys
    ])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise SecretUnreadable("a stored webhook secret cannot be read (was secret_key_base changed?)") from exc
