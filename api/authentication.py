"""Who is calling the API: the `Portus-Auth: <username>:<application token>` header, or the web session.

The header takes only application tokens (never passwords). The token is looked up by its keyed hash
(one indexed query, see ApplicationToken.find); the user name is then compared in constant time, so the
answer does not tell which part was wrong. A disabled or locked account is refused like a bad token.
"""

from __future__ import annotations

import hmac

from rest_framework import authentication, exceptions

from accounts.models import ApplicationToken
from namespaces import policy

HEADER = "Portus-Auth"
_META_KEY = "HTTP_PORTUS_AUTH"


class PortusAuthAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get(_META_KEY)
        if raw is None:
            return None
        username, sep, secret = raw.strip().partition(":")
        if not sep or not username or not secret:
            raise exceptions.AuthenticationFailed(f"Give {HEADER} as <username>:<application token>.")
        token = ApplicationToken.find(secret)
        expected = token.user.username if token is not None else ""
        same_user = hmac.compare_digest(username.encode("utf-8", "surrogatepass"),
                                        expected.encode("utf-8", "surrogatepass"))
        if token is None or not same_user:
            raise exceptions.AuthenticationFailed("Invalid user name or application token.")
        user = token.user
        if not policy.is_active(user):
            raise exceptions.AuthenticationFailed("This account is disabled or locked.")
        token.touch()
        return user, token

    def authenticate_header(self, request) -> str:
        return f'{HEADER} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The web UI's session; CSRF is enforced for unsafe methods (DRF's rule) and locked accounts are out."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not policy.is_active(result[0]):
            return None
        return result
