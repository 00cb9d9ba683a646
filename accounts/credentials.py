"""Checking a user name and a secret (password or application token), fast on repeats, with lockout and
per-address rate limits.

A docker client asks for a token on nearly every registry request, so a repeated valid login must not
pay a full password hash each time. A successful verification is remembered for a short while under an
HMAC of (user name, secret) keyed by the secret key, beside a fingerprint of the user's password hash,
enabled flag and lock: any change to those makes the entry miss. Failed attempts are never cached.

What the lock means: after `lockout.max_attempts` wrong passwords an account's PASSWORD logins are
refused for a while. It stops guessing and nothing else: application tokens (random, not guessable) keep
working, as do open sessions and the internal account's in-process work (namespaces/policy.py does not
look at the lock), so a stranger cannot switch an account or a CI bot off. An account without a usable
password (a bot) has nothing to guess and is never counted or locked. A disabled account counts and
locks like any other, so "disabled" — said only to the right password — is no unlimited oracle.

Concurrent checks of the same user name and secret in one process run one hasher between them: a
fleet of clients starting at once with one CI password waits for the first check and then finds it
remembered (`_one_at_a_time`), instead of each paying the hash (at most one per worker process).

Every password check that is not a remembered success costs exactly one hasher run, whether the user
exists, is locked, has no password or gave a wrong one: the time of an answer tells nothing. Before that
run the client address's failure budget is read (ratelimits): over it, the answer is RATE_LIMITED
without hashing. Successes from the token path or the cache never read or write the rate-limit table.
"""

from __future__ import annotations

import contextlib
import enum
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.utils import timezone

from accounts.models import ApplicationToken, User, record_failed_login, record_successful_login
from ldapauth import login as ldap_login
from portus.hashing import keyed_hash
from portus.options import option
from portus.prepared import TEXT, OneRow
from ratelimits.services import failure_record, failure_wait


class Failure(enum.Enum):
    INVALID = "invalid"
    LOCKED = "locked"
    DISABLED = "disabled"
    RATE_LIMITED = "rate_limited"
    PASSWORD_REFUSED = "password_refused"  # right, but not enough at this door (password_door_checks)


# Wrong credentials and a lock read the same, so that the answer does not tell a stranger which
# accounts exist or are locked; "disabled" is only said to whoever gave the right password.
_INVALID_OR_LOCKED = ("Invalid user name or password, or the account is locked for a while after too many "
                      "failed attempts.")
MESSAGES = {
    Failure.INVALID: _INVALID_OR_LOCKED,
    Failure.LOCKED: _INVALID_OR_LOCKED,
    Failure.DISABLED: "This account is disabled.",
    Failure.RATE_LIMITED: "Too many failed attempts from your address.",
    Failure.PASSWORD_REFUSED: "A password cannot log in to this account here: use an application token.",
}

# Checks that may refuse a RIGHT password at a door that asks for no second step (the token endpoint,
# any API login): each takes the user and answers why not, or None. Apps above this one plug in when
# Django starts (twofactor/apps.py), so that this module imports nothing above it.
password_door_checks: list[Callable[[User], str | None]] = []
# What those checks read, selected with the user in its one query (attribute name → expression).
user_annotations: dict[str, Any] = {}


def client_address(request) -> str | None:
    """The client's IP address as text (behind trusted proxies, the one they name), or None."""
    from ratelimits.addresses import client_ip

    address = client_ip(request) if request is not None else None
    return str(address) if address is not None else None


@dataclass
class Verified:
    user: User | None
    failure: Failure | None = None
    via_token: ApplicationToken | None = None
    retry_after: int = 0  # seconds, with RATE_LIMITED
    detail: str = ""  # the reason a password_door_check gave, with PASSWORD_REFUSED
    # How long this success may be remembered by a caller that also follows every change to what it read
    # (the token endpoint, realm/decisions.py): 0 for what must be checked afresh each time.
    remember_for: float = 0.0

    @property
    def ok(self) -> bool:
        return self.user is not None and self.failure is None

    @property
    def message(self) -> str:
        if self.failure is Failure.RATE_LIMITED:
            minutes = max(1, (self.retry_after + 59) // 60)
            return f"{MESSAGES[self.failure]} Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        if self.detail:
            return self.detail
        if self.failure is Failure.INVALID:
            return MESSAGES[self.failure] + "".join(hint() for hint in REFUSAL_HINTS)
        return MESSAGES[self.failure] if self.failure else ""


# Other kinds of secret, plugged in by the apps that own them when Django starts (federation: a robot's
# CI ID token). Each takes (username, secret, address=) and answers a Verified, or None when the secret is
# none of its kind; they run after application tokens, before passwords, and only where tokens are allowed.
LOGIN_PLUGINS: list[Callable[..., Verified | None]] = []
# Sentences added to the message of a refused login (federation: how accounts without a password log in).
REFUSAL_HINTS: list[Callable[[], str]] = []

_DUMMY_HASH: str | None = None
# An application token's success is remembered (realm/decisions.py) at most this long, or until it expires.
TOKEN_REMEMBER_SECONDS = 3600.0

# The user a password login names, with what the door checks read: compiled once (portus/prepared.py).
_USER_NAMED = OneRow(lambda username: User.objects.filter(username=username).annotate(**user_annotations),
                     username=TEXT)


def _burn_hash(password: str) -> None:
    """Spends one hasher run where there is no password to check, so timing tells nothing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = make_password("portus-dummy-password")
    check_password(password, _DUMMY_HASH)


def _cache_key(username: str, secret: str) -> str:
    return "cred:" + keyed_hash(f"{username}\x00{secret}", purpose="credential-cache")


def _token_login(username: str, secret: str, client_address: str | None) -> Verified | None:
    """The application token's answer, or None when `secret` is no token of `username`'s (expired and
    revoked tokens are no tokens: `find` only finds usable ones)."""
    from namespaces import policy

    token = ApplicationToken.find(secret)  # one indexed query, with the user and a robot's namespace
    presented = username.encode("utf-8", "surrogatepass")
    if token is None or not hmac.compare_digest(token.user.username.encode(), presented):
        return None
    user = token.user
    if not policy.is_active(user):
        return Verified(user, Failure.DISABLED)
    # Not a reset of the password failures: a CI's token logins must not wipe an attacker's count.
    token.touch(address=client_address)
    left = (token.expires_at - timezone.now()).total_seconds() if token.expires_at else TOKEN_REMEMBER_SECONDS
    return Verified(user, via_token=token, remember_for=max(0.0, min(left, TOKEN_REMEMBER_SECONDS)))


def _remembered(user: User, username: str, secret: str) -> float | None:
    """The seconds left of a remembered success (0 when its age is unknown), or None: not remembered."""
    ttl = option("credential_cache.seconds")
    if not ttl or not user.enabled or user.is_locked():
        return None
    entry = cache.get(_cache_key(username, secret))
    if not isinstance(entry, tuple) or entry[:2] != (user.pk, user.password_fingerprint()):
        return None
    checked_at = entry[2] if len(entry) > 2 and isinstance(entry[2], float) else None
    return max(0.0, checked_at + ttl - time.time()) if checked_at is not None else 0.0


_inflight: dict[str, list] = {}  # credential key → [lock, holders and waiters]
_inflight_guard = threading.Lock()


@contextlib.contextmanager
def _one_at_a_time(key: str) -> Iterator[None]:
    """Serialises checks of one credential key within this process. Entries live only while a check of
    that key runs or waits, so the table is bounded by the number of threads."""
    with _inflight_guard:
        entry = _inflight.setdefault(key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _inflight_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _inflight[key]


def _check_password(user: User | None, secret: str) -> Verified:
    """One hasher run, whatever the account's state."""
    if user is None:
        _burn_hash(secret)
        return Verified(None, Failure.INVALID)
    if user.is_locked():
        _burn_hash(secret)  # no real check while locked: guessing must not go on
        return Verified(user, Failure.LOCKED)
    if not user.has_usable_password():
        _burn_hash(secret)
        return Verified(None, Failure.INVALID)
    if not user.check_password(secret):
        record_failed_login(user.pk)
        user.refresh_from_db(fields=["failed_attempts", "locked_until", "locked_at"])
        locked = user.is_locked()
        return Verified(user if locked else None, Failure.LOCKED if locked else Failure.INVALID)
    if not user.enabled:
        return Verified(user, Failure.DISABLED)
    record_successful_login(user)
    if ttl := option("credential_cache.seconds"):
        # check_password may have upgraded the hash: fingerprint the stored one.
        cache.set(_cache_key(user.username, secret), (user.pk, user.password_fingerprint(), time.time()), ttl)
    return Verified(user, remember_for=float(ttl or 0))


def _password_door(result: Verified, interactive: bool) -> Verified:
    """A right password, asked by a door without a second step, goes past the plugged-in checks."""
    if interactive or not result.ok or result.via_token is not None:
        return result
    for check in password_door_checks:
        if reason := check(result.user):
            return Verified(result.user, Failure.PASSWORD_REFUSED, detail=reason)
    return result


def verify(username: str, secret: str, *, allow_tokens: bool = True, address: str | None = None,
           client_address: str | None = None, interactive: bool = False) -> Verified:
    """Checks a user name and a password or application token.

    `address` is the client's rate-limit key (ratelimits.addresses.address_key), None for checks that
    come from no client; `client_address` its IP address, recorded as a token's last use. `interactive`
    is the web sign-in, which asks for the second step itself; other doors hand a right password to
    `password_door_checks`. A token login or a remembered password costs one indexed query and no more."""
    if allow_tokens and secret.startswith(ApplicationToken.PREFIX + "_"):
        result = _token_login(username, secret, client_address)
        if result is not None:
            return result
    for plugin in LOGIN_PLUGINS if allow_tokens else ():
        if (result := plugin(username, secret, address=address)) is not None:
            return result
    # NUL: PostgreSQL takes no NUL in text (a query with one is an error, not a miss); no name holds one.
    well_formed = (bool(username and secret) and len(username) <= 150 and len(secret) <= 1024
                   and "\x00" not in username)
    user = _USER_NAMED.get(username=username) if well_formed else None
    if user is not None and (left := _remembered(user, username, secret)) is not None:
        return _password_door(Verified(user, remember_for=left), interactive)
    if well_formed and (directory := ldap_login.verify(user, username, secret, address=address)) is not None:
        # An LDAP account, or a new name, with ldap.enabled (ldapauth/login.py).
        return _password_door(directory, interactive)
    if address is not None and (wait := failure_wait(address=address)):
        return Verified(None, Failure.RATE_LIMITED, retry_after=wait)
    if not well_formed:
        result = Verified(None, Failure.INVALID)
    elif user is None:
        result = _check_password(user, secret)
    else:
        with _one_at_a_time(_cache_key(username, secret)):
            # The check this one waited for may have succeeded: then it is remembered now.
            if (left := _remembered(user, username, secret)) is not None:
                return _password_door(Verified(user, remember_for=left), interactive)
            result = _check_password(user, secret)
    if not result.ok and address is not None:
        failure_record(address=address)
    return _password_door(result, interactive)
