"""What the sign-in and profile pages show of single sign-on."""

from __future__ import annotations

from django import template

from federation import providers
from federation.models import ExternalIdentity
from portus.options import option

register = template.Library()


@register.simple_tag
def sign_in_providers() -> list[providers.Provider]:
    return providers.configured()


@register.simple_tag
def local_login_enabled() -> bool:
    return bool(option("oauth.local_login.enabled"))


@register.simple_tag
def identities_of(user) -> dict:
    """The user's linked identities (one query) and the providers they could still link."""
    linked = list(ExternalIdentity.objects.filter(user=user))
    labels = {p.key: p.label for p in providers.configured()}
    held = {i.provider for i in linked}
    return {
        "linked": [(i, labels.get(i.provider, i.provider)) for i in linked],
        "linkable": [p for p in providers.configured() if p.key not in held],
        "has_password": user.has_usable_password(),
        # The last way into an account without a password is not offered for unlinking (services refuse it).
        "can_unlink": user.has_usable_password() or len(linked) > 1,
    }
