"""Signing in: the second step after the password (a code, a recovery code or a passkey), and signing in
with a passkey alone."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from namespaces import policy
from ratelimits.addresses import address_key
from ratelimits.services import failure_record, failure_wait
from twofactor import audit, pending, recovery, totp
from twofactor.forms import CodeForm
from twofactor.models import Passkey, TotpDevice
from twofactor.passkeys import CeremonyError, authentication_options, authentication_verify
from twofactor.services import has_second_factor
from twofactor.views.common import json_error, json_options, json_redirect, read_credential, too_many

WRONG_CODE = "That code is not right, or was used already."
START_AGAIN = "Too many wrong codes for this sign-in: give your password again."


def second_step_or_none(request, user, *, next_url: str):
    """Called by the sign-in page after a right password: the way to the second step for an account
    with a factor, None for one without (which is signed in at once)."""
    if not has_second_factor(user):
        return None
    pending.start(request, user, next_url=next_url, backend=getattr(user, "backend", None) or pending.BACKEND)
    return redirect("twofactor-verify")


def _wait_message(wait: int) -> str:
    minutes = max(1, (wait + 59) // 60)
    return f"Too many wrong answers. Try again in {minutes} minute{'s' if minutes > 1 else ''}."


@never_cache
def verify(request):
    user = pending.user(request)
    if user is None:
        if request.method == "POST":
            messages.info(request, "Sign in with your password first.")
        return redirect("sign_in")
    form = CodeForm(request.POST or None)
    context = {"form": form, "pending_user": user,
               "has_totp": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists(),
               "has_passkeys": Passkey.objects.filter(user=user).exists()}
    if request.method != "POST":
        return render(request, "twofactor/verify.html", context)
    if wait := pending.wait_seconds(request, user):
        form.errors.clear()
        form.add_error(None, _wait_message(wait))
        return too_many(render(request, "twofactor/verify.html", context), wait)
    if form.is_valid():
        code = form.cleaned_data["code"]
        device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
        if device is not None and totp.looks_like_code(code) and totp.check_code(device, code):
            return redirect(pending.finish(request, user, method="totp"))
        if recovery.looks_like_code(code) and recovery.use(user, code):
            left = recovery.remaining(user)
            audit.recovery_code_used(request, user, left=left)
            target = pending.finish(request, user, method="recovery_code")
            messages.warning(request, f"You signed in with a recovery code; {left} left. "
                                      "Make new ones on the Two-factor page if you are running short.")
            return redirect(target)
        if pending.failed(request, user, kind="code"):
            messages.error(request, START_AGAIN)
            return redirect("sign_in")
        form.add_error("code", WRONG_CODE)
    return render(request, "twofactor/verify.html", context, status=400)


@never_cache
@require_POST
def verify_passkey_options(request):
    user = pending.user(request)
    if user is None:
        return json_error("Sign in with your password first.", 403)
    try:
        return json_options(authentication_options(request, purpose="second_step", user=user))
    except CeremonyError as exc:
        return json_error(str(exc))


@never_cache
@require_POST
def verify_passkey(request):
    user = pending.user(request)
    if user is None:
        return json_error("Sign in with your password first.", 403)
    if wait := pending.wait_seconds(request, user):
        return json_error(_wait_message(wait), 429, wait)
    try:
        body = read_credential(request)
        authentication_verify(request, body["credential"], purpose="second_step")
    except CeremonyError as exc:
        over = pending.failed(request, user, kind="passkey")
        return json_error(START_AGAIN if over else str(exc), 400)
    return json_redirect(pending.finish(request, user, method="passkey_second_step"))


# --- a passkey alone ------------------------------------------------------------------------------


@never_cache
@require_POST
def passkey_options(request):
    try:
        return json_options(authentication_options(request, purpose="passwordless"))
    except CeremonyError as exc:
        return json_error(str(exc))


@never_cache
@require_POST
def passkey_sign_in(request):
    """A discoverable passkey names its user and proves presence and verification (PIN or biometrics):
    both factors in one. Refusals count against the client's address like wrong passwords."""
    address = address_key(request)
    if wait := failure_wait(address=address):
        return json_error("Too many failed attempts from your address: try again later.", 429, wait)
    try:
        body = read_credential(request)
        passkey = authentication_verify(request, body["credential"], purpose="passwordless")
    except CeremonyError as exc:
        failure_record(address=address)
        return json_error(str(exc), 400)
    user = passkey.user
    if not policy.can_use_ui(user):
        failure_record(address=address)
        return json_error("This account cannot sign in here.", 403)
    next_url = pending.safe_next(request, body.get("next") if isinstance(body.get("next"), str) else None)
    return json_redirect(pending.finish(request, user, method="passkey", next_url=next_url))
