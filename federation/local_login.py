"""`oauth.local_login.enabled: false`: people sign in on the web through a provider, admins may still use
their password (the way in when the provider is down or misconfigured). Registry and API logins are not
concerned: a docker client has no browser for a provider's pages."""

from __future__ import annotations

from federation import providers
from portus.options import option


def refusal(user) -> str | None:
    if option("oauth.local_login.enabled") or user.admin:
        return None
    labels = " or ".join(p.label for p in providers.configured()) or "your organisation's sign-in provider"
    return f"Password sign-in is off on this Portus: sign in with {labels}."
