"""The internal `portus` account's registry tokens, minted in-process for the registry client.

Never over HTTP: a background process that asked the web workers for a token could wait on itself (the
known issue of Portus's documentation). The audience is always the registry's own host name and the
access exactly the scope the client's caller needs; nothing the registry says chooses either.
"""

from __future__ import annotations

from accounts.models import User
from realm.scopes import parse_scopes
from realm.token import issue_token
from registries.client import RegistryAuthError
from registries.models import Registry


def internal_token(registry: Registry, scope: str) -> tuple[str, int]:
    """(JWT, lifetime in seconds) of the internal account for `scope` at `registry`."""
    user = User.objects.filter(username=User.INTERNAL_USERNAME).first()
    if user is None:
        raise RegistryAuthError("the internal `portus` account does not exist (manage.py create_api_account)")
    body = issue_token(user=user, registry=registry, service=registry.hostname,
                       scopes=parse_scopes(scope.split(" ")))
    return body["token"], int(body.get("expires_in") or 60)
