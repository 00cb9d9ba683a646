"""The half-signed-in session between the password and the second step.

After a right password, an account with a second factor is not signed in: the session (given a new key,
so that a planted cookie learns nothing) holds only who is on their way in, for five minutes, with a
fingerprint of the password hash, enabled flag and lock, so that a password change, a disabled account
or a lock in between ends it. Each wrong answer counts against the client's address (ratelimits) and the
account's second-step counter; after a few on one sign-in the password must be given again."""

from __future__ import annotations

import time
from datetime import timedelta

from django.contrib.auth import login
from django.db.models import F
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User
from namespaces import policy
from portus.options import option
from ratelimits.addresses import address_key
from ratelimits.services import failure_record, failure_wait
from twofactor import audit
from twofactor.models import TwoFactorState

SESSION_KEY = "twofactor_pending"
PENDING_SECONDS = 300
TRIES_PER_SIGN_IN = 5
BACKEND = "accounts.backends.PortusBackend"


def start(request, user: User, *, next_url: str, backend: str = BACKEND) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"user": user.pk, "fp": user.password_fingerprint(), "at": time.time(),
                                    "next": next_url[:2000], "backend": backend, "tries": 0}


def user(request) -> User | None:
    """Who is between the two steps, or None (nobody, expired, or the account changed meanwhile)."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - float(data.get("at", 0)) > PENDING_SECONDS:
        clear(request)
        return None
    found = User.objects.filter(pk=data.get("user")).first()
    if found is None or not policy.can_use_ui(found) or found.password_fingerprint() != data.get("fp"):
        clear(request)
        return None
    return found


def clear(request) -> None:
    request.session.pop(SESSION_KEY, None)


def _state(user: User) -> TwoFactorState:
    return TwoFactorState.objects.get_or_create(user=user)[0]


def wait_seconds(request, user: User) -> int:
    """Seconds before another answer may be checked: the address's budget, then the account's lock."""
    if wait := failure_wait(address=address_key(request)):
        return wait
    state = _state(user)
    if state.is_locked():
        return max(1, int((state.locked_until - timezone.now()).total_seconds()))
    return 0


def failed(request, user: User, *, kind: str) -> bool:
    """Counts a wrong answer; True when this sign-in is over (the password must be given again)."""
    failure_record(address=address_key(request))
    state = _state(user)
    TwoFactorState.objects.filter(pk=state.pk).update(failed_attempts=F("failed_attempts") + 1)
    now = timezone.now()
    TwoFactorState.objects.filter(pk=state.pk, failed_attempts__gte=option("lockout.max_attempts")).update(
        failed_attempts=0, locked_until=now + timedelta(minutes=option("lockout.lock_minutes")))
    audit.second_step_failed(request, user, kind=kind)
    data = request.session.get(SESSION_KEY)
    if isinstance(data, dict):
        data["tries"] = int(data.get("tries", 0)) + 1
        if data["tries"] >= TRIES_PER_SIGN_IN:
            clear(request)
            return True
        request.session[SESSION_KEY] = data
    return False


def safe_next(request, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return "/"


def finish(request, user: User, *, method: str, backend: str | None = None, next_url: str | None = None) -> str:
    """Signs the user in for real; returns where to go next."""
    data = request.session.get(SESSION_KEY) or {}
    if next_url is None:
        next_url = safe_next(request, data.get("next")) if isinstance(data, dict) else "/"
    backend = backend or (data.get("backend") if isinstance(data, dict) else None) or BACKEND
    clear(request)
    TwoFactorState.objects.filter(user=user).update(failed_attempts=0)
    request.portus_sign_in_method = method
    login(request, user, backend=backend)
    User.objects.filter(pk=user.pk).update(current_sign_in_at=timezone.now())
    return next_url
