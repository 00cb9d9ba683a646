"""Says why a session ended when its account was disabled, instead of a silent trip to the sign-in page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout

DISABLED_SESSION_MESSAGE = ("Your account has been disabled, so you were signed out. An administrator can "
                            "enable it again.")


class DisabledSessionMiddleware:
    """A session whose account was disabled since it began: the backend no longer finds its user
    (accounts/backends.py), so the visitor is anonymous. Here that session is ended and the reason is
    told once. Only the session's holder learns it, who knew the account already; a request without a
    session costs nothing, one with a stale session one query."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        # Without a session cookie the session is not even read, so the answer does not vary by cookie
        # (the registry's endpoints, API clients).
        session = getattr(request, "session", None) if settings.SESSION_COOKIE_NAME in request.COOKIES else None
        if session is not None and SESSION_KEY in session and not request.user.is_authenticated:
            from accounts.models import User

            user_id = session.get(SESSION_KEY)
            disabled = User.objects.filter(pk=user_id, enabled=False).exists() if str(user_id).isdigit() else False
            logout(request)
            if disabled:
                messages.warning(request, DISABLED_SESSION_MESSAGE)
        return self.get_response(request)
