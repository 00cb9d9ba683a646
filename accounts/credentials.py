"""Checking a user name and a secret (password or application token), fast on repeats and with lockout.

A docker client asks for a token on nearly every registry request, so a repeated valid login must not
pay a full password hash each time. A successful verification is remembered for a short while under an
HMAC of (user name, secret) keyed by the secret key, beside a fingerprint of the user's password hash,
enabled flag and lock: any change to those makes the entry miss. Failed attempts are never cached: each
costs the full hash, and counts towards the lockout kept in the database (shared by every worker).
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.cache import cache

from accounts.models import ApplicationToken, User, keyed_hash, record_failed_login, record_successful_login
from portus.options import option


class Failure(enum.Enum):
    INVALID = "invalid"
    LOCKED = "locked"
    DISABLED = "disabled"


# Wrong credentials and a lock read the same, so that the answer does not tell a stranger which
# accounts exist or are locked; "disabled" is only said to whoever gave the right password.
_INVALID_OR_LOCKED = ("Invalid user name or password, or the account is locked for a while after too many "
                      "failed attempts.")
MESSAGES = {
    Failure.INVALID: _INVALID_OR_LOCKED,
    Failure.LOCKED: _INVALID_OR_LOCKED,
    Failure.DISABLED: "This account is disabled.",
}


@dataclass
class Verified:
    user: User | None
    failure: Failure | None = None
    via_token: ApplicationToken | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.failure is None

    @property
    def message(self) -> str:
        return MESSAGES[self.failure] if self.failure else ""


_DUMMY_HASH: str | None = None


def _burn_hash(password: str) -> None:
    """Spends the hasher's time on an unknown user, so timing does not reveal which names exist."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = make_password("portus-dummy-password")
    from django.contrib.auth.hashers import check_password

    check_password(password, _DUMMY_HASH)


def _cache_key(username: str, secret: str) -> str:
    return "cred:" + keyed_hash(f"{username}\x00{secret}", purpose="credential-cache")


def verify(username: str, secret: str, *, allow_tokens: bool = True) -> Verified:
    """Checks a user name and a password or application token; one indexed query on a cache hit."""
    if not username or not secret or len(username) > 150 or len(secret) > 1024:
        return Verified(None, Failure.INVALID)
    if allow_tokens and secret.startswith(ApplicationToken.PREFIX + "_"):
        # One indexed query finds the token with its user.
        token = ApplicationToken.find(secret)
        presented = username.encode("utf-8", "surrogatepass")
        if token is not None and hmac.compare_digest(token.user.username.encode(), presented):
            user = token.user
            if user.is_locked():
                return Verified(user, Failure.LOCKED)
            if not user.enabled:
                return Verified(user, Failure.DISABLED)
            token.touch()
            record_successful_login(user)
            return Verified(user, via_token=token)
    user = User.objects.filter(username=username).first()
    if user is None:
        _burn_hash(secret)
        return Verified(None, Failure.INVALID)
    if user.is_locked():
        # No password check while locked: guessing must not go on.
        return Verified(user, Failure.LOCKED)
    if not user.enabled:
        # Costs a hash, so a disabled account answers like any other to a wrong password.
        if user.has_usable_password() and user.check_password(secret):
            return Verified(user, Failure.DISABLED)
        return Verified(None, Failure.INVALID)

    ttl = option("credential_cache.seconds")
    key = _cache_key(username, secret)
    fingerprint = user.password_fingerprint()
    if ttl and cache.get(key) == (user.pk, fingerprint):
        return Verified(user)

    if user.has_usable_password() and user.check_password(secret):
        record_successful_login(user)
        if ttl:
            # check_password may have upgraded the hash: fingerprint the stored one.
            cache.set(key, (user.pk, user.password_fingerprint()), ttl)
        return Verified(user)

    record_failed_login(user.pk)
    user.refresh_from_db(fields=["failed_attempts", "locked_until", "locked_at"])
    return Verified(user if user.is_locked() else None, Failure.LOCKED if user.is_locked() else Failure.INVALID)
