"""Password logins against the LDAP directory, called by accounts/credentials.py::verify for every door
(web sign-in, API Basic, the token endpoint).

Who goes to LDAP, when `ldap.enabled`: accounts that an LDAP sign-in created (they have an LdapAccount),
and names no account holds yet (a successful bind creates the account: the first login). Accounts made
in Portus before or beside LDAP (local ones), bots and the internal `portus` account keep their local
password and never reach the directory; a local account also keeps its name from a directory entry of
the same uid, which is refused (an administrator renames or deletes the local account first).

Fast repeats: a docker client asks for a token on nearly every request, and a bind costs a round trip
or three. A successful bind is remembered for `ldap.credential_cache.seconds` in one cache entry per
account, holding an HMAC of (user name, password) under the secret key — never the password — and a stamp
of the account row (password fingerprint: enabled, lock; and `updated_at`). A repeat then costs the user
row, read by verify anyway, and a cache read: what an application token costs. The entry is dropped
at once when a bind for the account fails (in every process: a failed bind touches `updated_at`, which
the stamp holds), when the account is disabled or locked, and replaced when another password succeeds
(so a password changed in the directory ends the old one at its first use of the new one).

The token realm remembers a login answered from this cache (realm/decisions.py) no longer than the
entry's time left, and forgets it at the next request whenever the entry is dropped or replaced: a
failed bind and another password's bind renew the authorization generation (realm/generation.py), as a
change to the account, its LDAP link or its teams does through the tables' triggers.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_auth_ldap.backend import LDAPBackend, ldap_error

from accounts import credentials
from accounts.models import User, record_failed_login, record_successful_login
from ldapauth import directory
from ldapauth.models import LdapAccount
from portus.hashing import keyed_hash
from portus.names import validate_component
from portus.options import option
from ratelimits.services import failure_record, failure_wait

log = logging.getLogger("ldapauth")

# A user name that reaches the directory: no control characters (NUL ends a C string in libldap), at
# most this long (the User model's own bound is 64; verify refuses beyond 150).
MAX_LOGIN_NAME = 150

_errors = threading.local()


def _on_ldap_error(sender, context, user, request, exception, **kwargs) -> None:  # noqa: ARG001
    """django-auth-ldap reports a server error through this signal and answers "no user": remember it,
    so that an unreachable directory is not counted as a wrong password."""
    if getattr(_errors, "watching", False):
        _errors.seen = directory.describe(exception)


ldap_error.connect(_on_ldap_error, dispatch_uid="ldapauth-errors")


def _cache_key(user: User) -> str:
    return f"ldapauth:cred:{user.pk}"


def _stamp(user: User) -> str:
    return f"{user.password_fingerprint()}|{user.updated_at.isoformat() if user.updated_at else ''}"


def _secret_digest(username: str, secret: str) -> str:
    return keyed_hash(f"{username}\x00{secret}", purpose="ldap-credential-cache")


def _remembered(user: User, username: str, secret: str) -> float | None:
    """The seconds left of a remembered bind (0 when its age is unknown), or None: not remembered."""
    ttl = option("ldap.credential_cache.seconds")
    if not ttl or not user.enabled or user.is_locked():
        return None
    entry = cache.get(_cache_key(user))
    if not isinstance(entry, tuple) or len(entry) < 2 or entry[1] != _stamp(user):
        return None
    if not hmac.compare_digest(entry[0], _secret_digest(username, secret)):
        return None
    bound_at = entry[2] if len(entry) > 2 and isinstance(entry[2], float) else None
    return max(0.0, bound_at + ttl - time.time()) if bound_at is not None else 0.0


def forget(user: User) -> None:
    """Drops the account's remembered bind here, and in every other process (the stamp changes), and
    what the token realm remembers of it (realm/generation.py: a new authorization generation)."""
    from realm import generation

    cache.delete(_cache_key(user))
    User.objects.filter(pk=user.pk).update(updated_at=timezone.now())
    generation.bump()


def acceptable_name(username: str) -> bool:
    return 0 < len(username) <= MAX_LOGIN_NAME and not any(ord(c) < 32 or ord(c) == 127 for c in username)


class PortusLDAPBackend(LDAPBackend):
    """django-auth-ldap with its settings from the `ldap.*` options (read at each login, so a changed
    option applies at once) and Portus's way of creating the account (ldapauth/accounts.py)."""

    settings_prefix = "PORTUS_LDAPAUTH_NOT_A_SETTING_"

    def __init__(self) -> None:
        self.default_settings = directory.backend_settings()

    def get_or_build_user(self, username, ldap_user):
        from ldapauth.accounts import AccountRefused, account_for_entry

        try:
            return account_for_entry(username=username, dn=ldap_user.dn, attrs=ldap_user.attrs), False
        except AccountRefused as exc:
            raise ldap_user.AuthenticationFailed(str(exc)) from None


def _bind(username: str, secret: str) -> tuple[User | None, str | None]:
    """(the account, None) after a good bind; (None, None) for a refused one; (None, why) when the
    directory could not answer."""
    _errors.watching, _errors.seen = True, None
    try:
        user = PortusLDAPBackend().authenticate(None, username=username, password=secret)
    finally:
        _errors.watching = False
    return user, _errors.seen


def verify(user: User | None, username: str, secret: str, *, address: str | None) -> credentials.Verified | None:
    """The directory's answer for this login, or None where the local password decides (LDAP off, a
    local account, a bot, the internal account)."""
    if not option("ldap.enabled"):
        return None
    if user is None and username != username.lower():
        # Portus names are lowercase and the directory's uid matches without regard to case: "Alice" is
        # alice, whose lock and failure count must hold whatever the spelling.
        user = User.objects.filter(username=username.lower()).first()
    if user is not None:
        if user.is_internal or user.bot:
            return None
        if (left := _remembered(user, username, secret)) is not None:
            # As long as the bind is remembered here, the realm may remember it too (realm/decisions.py).
            return credentials.Verified(user, remember_for=left)
        if not LdapAccount.objects.filter(user=user).exists():
            return None
    Verified, Failure = credentials.Verified, credentials.Failure
    if address is not None and (wait := failure_wait(address=address)):
        return Verified(None, Failure.RATE_LIMITED, retry_after=wait)
    if not acceptable_name(username):
        result = Verified(None, Failure.INVALID)
    elif user is not None and user.is_locked():
        result = Verified(user, Failure.LOCKED)  # no bind while locked: guessing must not go on
    else:
        result, answered = _directory_login(user, username, secret)
        if not answered:
            return result  # the directory's trouble, not the client's guess: not counted
    if not result.ok and address is not None:
        failure_record(address=address)
    return result


def _directory_login(user: User | None, username: str, secret: str) -> tuple[credentials.Verified, bool]:
    """The answer, and whether the directory gave it (False: it could not be asked)."""
    Verified, Failure = credentials.Verified, credentials.Failure
    bound, trouble = _bind(username, secret)
    if bound is None:
        if trouble:
            log.warning("LDAP sign-in of %r not checked: the directory could not be asked: %s", username[:64], trouble)
            return Verified(None, Failure.INVALID), False
        if user is not None:
            forget(user)
            record_failed_login(user.pk)
            user.refresh_from_db(fields=["failed_attempts", "locked_until", "locked_at"])
            if user.is_locked():
                return Verified(user, Failure.LOCKED), True
        return Verified(None, Failure.INVALID), True
    if bound.is_locked():  # another spelling of a locked account's name, or a renamed entry
        return Verified(bound, Failure.LOCKED), True
    if not bound.enabled:
        return Verified(bound, Failure.DISABLED), True
    from ldapauth.accounts import after_bind

    after_bind(bound, bound.ldap_user)
    record_successful_login(bound)
    bound.refresh_from_db()
    if ttl := option("ldap.credential_cache.seconds"):
        # Keyed by the name the client typed: the account's own may be spelled otherwise (case).
        digest, held = _secret_digest(username, secret), cache.get(_cache_key(bound))
        cache.set(_cache_key(bound), (digest, _stamp(bound), time.time()), ttl)
        if isinstance(held, tuple) and held and not hmac.compare_digest(held[0], digest):
            # Another password bound: the one remembered before ends here, and in the realm's memory.
            from realm import generation

            generation.bump()
    return Verified(bound, remember_for=float(ttl or 0)), True


def validate_new_username(username: str) -> str | None:
    """Why this directory name cannot become a Portus account, or None."""
    try:
        validate_component(username)
    except ValidationError as exc:
        return " ".join(exc.messages)
    if len(username) > User._meta.get_field("username").max_length:
        return "too long"
    return None

