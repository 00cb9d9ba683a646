"""Sign-ins in the activity log: each web sign-in, and each refused one for an account that exists.

Successes are recorded for sign-ins that say how they were made (`request.portus_sign_in_method`,
set by the sign-in views), not for every `login()` (tests and internal sessions use it too). Failures
come from Django's `user_login_failed`, sent by the sign-in form only; names that match no account are
not recorded, since a person who typed their password into the name field would have it logged."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed

from accounts.models import User
from activities.services import activity_record
from ratelimits.addresses import address_key

METHODS = {
    "password": "password",
    "totp": "password and authenticator code",
    "recovery_code": "password and recovery code",
    "passkey_second_step": "password and passkey",
    "passkey": "passkey",
}


def _address(request) -> str:
    return address_key(request) if request is not None else "unknown"


def _signed_in(sender, request, user, **kwargs) -> None:
    method = getattr(request, "portus_sign_in_method", None)
    if method is None:
        return
    activity_record(key="user.sign_in", owner=user, target=user,
                    parameters={"method": METHODS.get(method, str(method)[:64]), "address": _address(request)})


def _refused(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username") if isinstance(credentials, dict) else None
    if not isinstance(username, str) or not username or len(username) > 150:
        return
    user = User.objects.filter(username=username).first()
    if user is None:
        return
    failure = getattr(request, "portus_login_failure", None)
    activity_record(key="user.sign_in_failure", target=user,
                    parameters={"reason": getattr(failure, "value", "invalid"), "address": _address(request)})


def second_step_failed(request, user, *, kind: str) -> None:
    activity_record(key="user.two_factor_failure", target=user,
                    parameters={"kind": kind, "address": _address(request)})


def recovery_code_used(request, user, *, left: int) -> None:
    activity_record(key="user.recovery_code_use", owner=user, target=user,
                    parameters={"left": left, "address": _address(request)})


def connect() -> None:
    user_logged_in.connect(_signed_in, dispatch_uid="twofactor-audit-sign-in")
    user_login_failed.connect(_refused, dispatch_uid="twofactor-audit-sign-in-failure")
