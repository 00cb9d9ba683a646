"""The Two-factor page of the profile: the authenticator app (QR code, confirm, remove), passkeys
(register, list, remove) and recovery codes (shown once, remade on demand)."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from twofactor import confirm, recovery, totp
from twofactor.enforcement import must_enrol, required_for
from twofactor.forms import ConfirmForm, TotpConfirmForm
from twofactor.models import Passkey, TotpDevice
from twofactor.passkeys import CeremonyError, registration_options, registration_verify
from twofactor.services import (
    passkey_add,
    passkey_remove,
    recovery_codes_regenerate,
    state_of,
    totp_begin,
    totp_confirm,
    totp_remove,
)
from twofactor.views.common import json_error, json_options, json_redirect, read_credential, too_many
from web.views import ui_login_required

_NEW_CODES = "twofactor_new_codes"
FIRST_FACTOR_NOTE = (" From now on, docker login takes an application token, not your password; clients that "
                     "logged in with the password are signed out.")


def _page(request, *, confirm_form=None, status=200):
    user = request.user
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    context = {
        "device": device,
        "passkeys": list(Passkey.objects.filter(user=user)),
        "recovery_left": recovery.remaining(user),
        "required": required_for(user),
        "must_enrol": must_enrol(user),
        "confirm_form": confirm_form or ConfirmForm(),
    }
    return render(request, "twofactor/setup.html", context, status=status)


@never_cache
@ui_login_required
def setup(request):
    return _page(request)


def _qr_svg(uri: str) -> str:
    # Server-rendered SVG, no script and no third party; dark modules on white in either theme.
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title="QR code")


@never_cache
@ui_login_required
def totp_enrol(request):
    """POST makes a new secret and shows it; the device counts once a code from it is confirmed."""
    if request.method == "POST":
        try:
            secret = totp_begin(user=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("twofactor-setup")
    else:
        device = TotpDevice.objects.filter(user=request.user, confirmed_at__isnull=True).first()
        secret = totp.decrypt(device) if device is not None else None
        if secret is None:
            return redirect("twofactor-setup")
    return _enrol_page(request, secret, TotpConfirmForm())


def _enrol_page(request, secret: str, form, status=200):
    uri = totp.provisioning_uri(secret, request.user.username)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render(request, "twofactor/totp_enrol.html", {
        "qr_svg": mark_safe(_qr_svg(uri)),  # noqa: S308 - segno's own markup of a URI it encodes
        "secret": grouped, "form": form,
    }, status=status)


@never_cache
@ui_login_required
@require_POST
def totp_confirm_view(request):
    form = TotpConfirmForm(request.POST)
    device = TotpDevice.objects.filter(user=request.user, confirmed_at__isnull=True).first()
    secret = totp.decrypt(device) if device is not None else None
    if secret is None:
        messages.error(request, "Start the set-up again.")
        return redirect("twofactor-setup")
    if form.is_valid():
        codes = totp_confirm(user=request.user, code=form.cleaned_data["code"])
        if codes is not None:
            messages.success(request, "Your authenticator app is set up." + (FIRST_FACTOR_NOTE if codes else ""))
            if codes:
                return _codes_page(request, codes, status=201)
            return redirect("twofactor-setup")
        form.add_error("code", "That code is not right: check the app's clock, and type the code it shows now.")
    return _enrol_page(request, secret, form, status=400)


def _codes_page(request, codes: list[str], status=200):
    return render(request, "twofactor/recovery_codes.html", {"codes": codes}, status=status)


def _confirmed(request) -> tuple[bool, object]:
    """(True, None) when the POST carries the password or a current code; else (False, the page)."""
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return False, _page(request, confirm_form=form, status=400)
    try:
        confirm.check(request, request.user, form.cleaned_data["confirm"])
    except confirm.Refused as exc:
        form.add_error("confirm", str(exc))
        page = _page(request, confirm_form=form, status=exc.status)
        return False, (too_many(page, exc.retry_after) if exc.status == 429 else page)
    return True, None


@never_cache
@ui_login_required
@require_POST
def totp_remove_view(request):
    ok, page = _confirmed(request)
    if not ok:
        return page
    totp_remove(user=request.user, by=request.user)
    messages.success(request, "The authenticator app is removed.")
    return redirect("twofactor-setup")


@never_cache
@ui_login_required
@require_POST
def recovery_regenerate(request):
    ok, page = _confirmed(request)
    if not ok:
        return page
    if not Passkey.objects.filter(user=request.user).exists() and not TotpDevice.objects.filter(
            user=request.user, confirmed_at__isnull=False).exists():
        messages.error(request, "Set up a second factor first: recovery codes back one up.")
        return redirect("twofactor-setup")
    return _codes_page(request, recovery_codes_regenerate(user=request.user, by=request.user), status=201)


@never_cache
@ui_login_required
def new_codes(request):
    """The codes made with a first passkey, once: taken out of the session as they are shown."""
    codes = request.session.pop(_NEW_CODES, None)
    if not isinstance(codes, list) or not codes:
        return redirect("twofactor-setup")
    return _codes_page(request, [str(c) for c in codes[:recovery.COUNT]])


@never_cache
@ui_login_required
@require_POST
def passkey_register_options(request):
    try:
        return json_options(registration_options(request, request.user, bytes(state_of(request.user).user_handle)))
    except CeremonyError as exc:
        return json_error(str(exc))


@never_cache
@ui_login_required
@require_POST
def passkey_register(request):
    try:
        body = read_credential(request)
        new = registration_verify(request, request.user, body["credential"])
        name = body.get("name") if isinstance(body.get("name"), str) else ""
        passkey, codes = passkey_add(user=request.user, name=name, new=new)
    except CeremonyError as exc:
        return json_error(str(exc))
    except ValidationError as exc:
        return json_error(exc.messages[0])
    messages.success(request, f"The passkey “{passkey.name}” is registered." + (FIRST_FACTOR_NOTE if codes else ""))
    if codes:
        request.session[_NEW_CODES] = codes
        return json_redirect("/users/two_factor/recovery_codes/new")
    return json_redirect("/users/two_factor")


@never_cache
@ui_login_required
@require_POST
def passkey_delete(request, pk: int):
    passkey = get_object_or_404(Passkey, pk=pk, user=request.user)
    ok, page = _confirmed(request)
    if not ok:
        return page
    passkey_remove(passkey=passkey, by=request.user)
    messages.success(request, f"The passkey “{passkey.name}” is removed.")
    return redirect("twofactor-setup")


