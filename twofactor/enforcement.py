"""Who must have a second factor (`two_factor.required`), and what a password may no longer do.

- `two_factor.required` is "" (nobody must), "admins" or "everyone". A person who must and has none is
  sent to set one up right after signing in, and until then every page but that one (and signing out)
  leads there; the API refuses their session, and a password at the registry says what to do. Bots and
  the internal account never use the web UI and are never asked.
- Once a user has a second factor, a password alone is worth less than before: registry logins
  (`/v2/token`) and any other door that asks for no second step refuse it and say to use an application
  token, which can be scoped, revoked and never opens the web UI.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from namespaces import policy
from portus.options import option
from twofactor.services import has_second_factor

PASSWORD_REFUSED = ("This account signs in with a second factor, so its password cannot log in here: use an "
                    "application token as the password instead (create one on your profile page, under "
                    "Application tokens).")
ENROL_FIRST = ("This account must set up a second factor before it can be used: sign in to the web UI to set "
               "one up, then use an application token as the password here.")
REQUIRED_VALUES = ("", "admins", "everyone")


def required_for(user) -> bool:
    """Whether `user` must have a second factor under the current option."""
    if not policy.can_use_ui(user):
        return False
    required = option("two_factor.required")
    return required == "everyone" or (required == "admins" and bool(user.admin))


def must_enrol(user) -> bool:
    return required_for(user) and not has_second_factor(user)


def user_annotations() -> dict:
    """Whether the user has a factor, selected with the user by accounts.credentials (no query more on
    the token endpoint's path)."""
    from django.db.models import Exists, OuterRef

    from twofactor.models import Passkey, TotpDevice

    return {
        "twofactor_has_totp": Exists(TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)),
        "twofactor_has_passkey": Exists(Passkey.objects.filter(user=OuterRef("pk"))),
    }


def _has_factor(user) -> bool:
    if hasattr(user, "twofactor_has_totp") and hasattr(user, "twofactor_has_passkey"):
        return bool(user.twofactor_has_totp or user.twofactor_has_passkey)
    return has_second_factor(user)


def password_door_refusal(user) -> str | None:
    """Plugged into accounts.credentials: why a right password may not log in at a door without a
    second step, or None."""
    if _has_factor(user):
        return PASSWORD_REFUSED
    if required_for(user):
        return ENROL_FIRST
    return None


# Paths a person who must enrol may still reach: the set-up pages, signing out, static files.
_OPEN_PREFIXES = ("/users/two_factor", "/users/sign_out", "/static/", "/v2/")


class EnrolmentRequiredMiddleware:
    """Keeps a signed-in person who must set up a second factor on the set-up page until they have."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        # The path and the option first: the registry's endpoints must not read the session (nor get Vary: Cookie).
        if request.path.startswith(_OPEN_PREFIXES) or not option("two_factor.required"):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and must_enrol(user):
            if request.path.startswith("/api/"):
                return JsonResponse({"message": ENROL_FIRST.replace(" here", "")}, status=403)
            if request.method not in ("GET", "HEAD"):
                return HttpResponse("Set up a second factor first.", status=403, content_type="text/plain")
            return redirect(reverse("twofactor-setup"))
        return self.get_response(request)
