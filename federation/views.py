"""The web doors of single sign-on: start at a provider, come back, link and unlink on the profile page."""

from __future__ import annotations

import logging

from authlib.common.errors import AuthlibBaseError
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from joserfc.errors import JoseError
from requests import RequestException

from accounts.models import User
from federation import providers, services
from federation.client import app_for
from federation.models import ExternalIdentity
from federation.profiles import ProfileError, github_profile, oidc_profile, refusal
from web.views import ui_login_required

log = logging.getLogger(__name__)

BACKEND = "accounts.backends.PortusBackend"
FLOW = "federation_flow"


def _provider(key: str) -> providers.Provider:
    provider = providers.get(key)
    if provider is None:
        raise Http404("No such sign-in provider.")
    return provider


def _safe_next(request: HttpRequest, raw: str) -> str:
    if raw and len(raw) < 2000 and url_has_allowed_host_and_scheme(raw, allowed_hosts={request.get_host()},
                                                                    require_https=request.is_secure()):
        return raw
    return reverse("dashboard")


def _start(request: HttpRequest, provider: providers.Provider, *, mode: str, next_url: str):
    # One flow at a time: an earlier, abandoned one's state (authlib's `_state_*` keys) goes, so that
    # pressing the button again and again cannot grow the session.
    for key in [k for k in request.session.keys() if k.startswith("_state_")]:
        del request.session[key]
    request.session[FLOW] = {"provider": provider.key, "mode": mode, "next": next_url,
                             "user": request.user.pk if mode == "link" else None}
    redirect_uri = request.build_absolute_uri(reverse("oauth-callback", args=[provider.key]))
    try:
        return app_for(provider).authorize_redirect(request, redirect_uri)
    except (AuthlibBaseError, RequestException, ValueError) as exc:
        log.warning("sign-in with %s could not start: %s", provider.key, exc)
        messages.error(request, f"{provider.label} cannot be reached just now; try again later.")
        return redirect("profile" if mode == "link" else "sign_in")


@never_cache
@require_POST
def sign_in_start(request: HttpRequest, provider: str):
    """POST (with the CSRF token) from the sign-in page's button."""
    found = _provider(provider)
    return _start(request, found, mode="sign_in", next_url=_safe_next(request, request.POST.get("next", "")))


@never_cache
@ui_login_required
@require_POST
def link_start(request: HttpRequest, provider: str):
    return _start(request, _provider(provider), mode="link", next_url=reverse("profile"))


def _profile(provider: providers.Provider, app, request: HttpRequest):
    token = app.authorize_access_token(request)  # state, PKCE, and for OIDC the ID token and its nonce
    return oidc_profile(provider, app, token) if provider.is_oidc else github_profile(provider, app, token)


@never_cache
@require_GET
def callback(request: HttpRequest, provider: str):
    found = _provider(provider)
    flow = request.session.pop(FLOW, None)
    if not isinstance(flow, dict) or flow.get("provider") != found.key:
        messages.error(request, "This sign-in was not started here, or has expired: start again.")
        return redirect("sign_in")
    failed_to = "profile" if flow["mode"] == "link" else "sign_in"
    try:
        profile = _profile(found, app_for(found), request)
    except (AuthlibBaseError, JoseError) as exc:  # state, token exchange, ID token (signature, nonce, claims)
        error = getattr(exc, "error", None) or type(exc).__name__
        log.info("sign-in with %s refused: %s", found.key, error)
        why = "you declined" if error == "access_denied" else "the answer could not be verified"
        messages.error(request, f"Signing in with {found.label} failed: {why}.")
        return redirect(failed_to)
    except ProfileError as exc:
        messages.error(request, str(exc))
        return redirect(failed_to)
    except (RequestException, ValueError, KeyError) as exc:  # a network failure or a malformed answer
        log.warning("sign-in with %s failed: %s", found.key, type(exc).__name__)
        messages.error(request, f"Signing in with {found.label} failed: its answer could not be read.")
        return redirect(failed_to)
    if (why := refusal(found, profile)) is not None:
        messages.error(request, why)
        return redirect(failed_to)
    if flow["mode"] == "link":
        return _finish_link(request, found, profile, flow)
    try:
        user = services.identity_sign_in(provider=found, profile=profile)
    except services.Refused as exc:
        messages.error(request, str(exc))
        return redirect("sign_in")
    login(request, user, backend=BACKEND)
    User.objects.filter(pk=user.pk).update(current_sign_in_at=timezone.now())
    return redirect(_safe_next(request, flow.get("next") or ""))


def _finish_link(request: HttpRequest, provider: providers.Provider, profile, flow: dict):
    if not request.user.is_authenticated or request.user.pk != flow.get("user"):
        messages.error(request, "Sign in to the account you want to link first.")
        return redirect("sign_in")
    try:
        services.identity_link(user=request.user, provider=provider, profile=profile)
    except services.Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Your {provider.label} identity is linked: you can sign in with it.")
    return redirect("profile")


@ui_login_required
@require_POST
def unlink(request: HttpRequest, pk: int):
    identity = get_object_or_404(ExternalIdentity.objects.select_related("user"), pk=pk, user=request.user)
    provider = providers.get(identity.provider)
    label = provider.label if provider else identity.provider
    try:
        services.identity_unlink(identity=identity, by=request.user, label=label)
    except services.Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Your {label} identity is unlinked.")
    return redirect("profile")
