"""Recovery codes: ten random codes shown once, stored as keyed hashes, each good for one sign-in."""

from __future__ import annotations

import hmac
import secrets

from django.utils import timezone

from portus.hashing import keyed_hash
from twofactor.models import RecoveryCode

COUNT = 10
# Crockford-like lowercase base32 without look-alikes (no i, l, o, u): 10 characters, 50 bits each.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_LENGTH = 10


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise(code: str) -> str:
    """What a person may type for a code: any case, with or without the dash or spaces."""
    text = "".join(ch for ch in (code or "")[:64].lower() if ch not in " -\t")
    return text.translate(str.maketrans({"o": "0", "i": "1", "l": "1"}))


def looks_like_code(code: str) -> bool:
    text = normalise(code)
    return len(text) == _LENGTH and all(ch in _ALPHABET for ch in text)


def digest(code: str) -> str:
    return keyed_hash(normalise(code), purpose="recovery-code")


def use(user, code: str) -> bool:
    """Spends one of `user`'s unused codes; False when none matches. The row is found by its digest (an
    index lookup, the digest being a keyed hash it tells nothing), then claimed by a conditional UPDATE
    so that two requests with the same code cannot both pass."""
    if not looks_like_code(code):
        return False
    wanted = digest(code)
    row = RecoveryCode.objects.filter(user=user, digest=wanted, used_at__isnull=True).first()
    if row is None or not hmac.compare_digest(row.digest, wanted):
        return False
    return bool(RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now()))


def remaining(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
