"""Who is calling the API: the `Portus-Auth: <username>:<application token>` header (or the token in
`Authorization: Basic`/`Bearer`), or the web session. A token's API access is enforced here (none: refused)
and in api.base (read: safe methods only).

The header takes only application tokens (never passwords). The token is looked up by its keyed hash
(one indexed query, see ApplicationToken.find); the user name is then compared in constant time, so the
answer does not tell which part was wrong. A disabled account is refused like a bad token; a locked one
is not (the lock refuses password logins only, see accounts/credentials.py). A refused header counts
against the client address like any failed login, and an address over its budget gets 429.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from rest_framework import authentication, exceptions

from accounts.credentials import client_address
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


def _from_authorization(request) -> tuple[str | None, str] | None:
    """(user name or None, token) from `Authorization: Basic <user:token>` or `Bearer <token>`; None
    when the header is absent or of another scheme (left to other authenticators)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header or len(header) > 4096:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return None, value.strip()
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _refuse(request, "Malformed Basic authorization header.") from None
    username, sep, secret = decoded.partition(":")
    if not sep or not username or not secret:
        raise _refuse(request, "Give Basic credentials as <username>:<application token>.")
    return username, secret


class PortusAuthAuthentication(authentication.BaseAuthentication):
    """`Portus-Auth: <user>:<token>`, or `Authorization: Basic` (user name and token) or `Bearer`
    (the token alone). Only application tokens, never passwords; a token without API access is refused."""

    def authenticate(self, request):
        raw = request.META.get(_META_KEY)
        if raw is not None:
            username, sep, secret = raw.strip().partition(":")
            if not sep or not username or not secret:
                raise _refuse(request, f"Give {HEADER} as <username>:<application token>.")
        else:
            found = _from_authorization(request)
            if found is None:
                return None
            username, secret = found
        token = ApplicationToken.find(secret)
        if username is not None:
            expected = token.user.username if token is not None else ""
            same_user = hmac.compare_digest(username.encode("utf-8", "surrogatepass"),
                                            expected.encode("utf-8", "surrogatepass"))
        else:
            same_user = token is not None
        if token is None or not same_user:
            raise _refuse(request, "Invalid user name or application token (or it expired or was revoked).")
        user = token.user
        if not policy.is_active(user):
            raise _refuse(request, "This account is disabled.")
        if not token.may_read_api:
            raise exceptions.AuthenticationFailed("This application token has registry access only, no API access.")
        token.touch(address=client_address(request))
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
