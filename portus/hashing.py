"""Keyed hashes of secrets: what is stored instead of a token or a notification secret."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a secret under the project's secret key; what is stored instead of the secret."""
    key = hashlib.sha256(f"portus:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
