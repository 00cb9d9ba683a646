"""Who is calling the API: the `Portus-Auth: <username>:<application token>` header, or the web session.

The header takes only application tokens (never passwords). The token is looked up by its keyed hash
(one indexed query, see ApplicationToken.find); the user name is then compared in constant time, so the
answer does not tell which part was wrong. A disabled account is refused like a bad token; a locked one
is not (the lock refuses password logins only, see accounts/credentials.py). A refused header counts
against the client address like any failed login, and an address over its budget gets 429.
"""

from __future__ import annotations

import hmac

from rest_framework import authentication, exceptions

from accounts.models import ApplicationToken
from namespaces import policy
from ratelimits.addresses import address_key
from ratelimits.services import failure_record, failure_wait

HEADER = "Portus-Auth"
_META_KEY = "HTTP_PORTUS_AUTH"


def _refuse(request, message: str) -> exceptions.APIException:
    """The error for a refused header, after counting it against the client's address."""
    address = address_key(request)
    wait = failure_wait(address=address)
    if wait:
        return exceptions.Throttled(wait=wait, detail="Too many failed attempts from your address.")
    failure_record(address=address)
    return exceptions.AuthenticationFailed(message)


class PortusAuthAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get(_META_KEY)
        if raw is None:
            return None
        username, sep, secret = raw.strip().partition(":")
        if not sep or not username or not secret:
            raise _refuse(request, f"Give {HEADER} as <username>:<application token>.")
        token = ApplicationToken.find(secret)
        expected = token.user.username if token is not None else ""
        same_user = hmac.compare_digest(username.encode("utf-8", "surrogatepass"),
                                        expected.encode("utf-8", "surrogatepass"))
        if token is None or not same_user:
            raise _refuse(request, "Invalid user name or application token.")
        user = token.user
        if not policy.is_active(user):
            raise _refuse(request, "This account is disabled.")
        token.touch()
        return user, token

    def authenticate_header(self, request) -> str:
        return f'{HEADER} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The web UI's session; CSRF is enforced for unsafe methods (DRF's rule) and disabled accounts are out."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not policy.is_active(result[0]):
            return None
        return result
