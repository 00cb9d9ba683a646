"""Who the provider says signed in, the same shape for every provider, and whether this Portus admits them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from federation.providers import Provider

MAX_TEXT = 255
MAX_GROUPS = 1000


@dataclass(frozen=True)
class Profile:
    subject: str
    login: str = ""
    email: str = ""
    email_verified: bool = False
    name: str = ""
    groups: tuple[str, ...] = ()
    hosted_domain: str = ""


def _text(value, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _groups(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(g[:MAX_TEXT] for g in value[:MAX_GROUPS] if isinstance(g, str))


class ProfileError(Exception):
    """The provider's answer cannot be used; the message is for the person signing in."""


def from_claims(provider: Provider, claims: dict) -> Profile:
    subject = claims.get("sub")
    if not isinstance(subject, str | int) or not str(subject) or len(str(subject)) > MAX_TEXT:
        raise ProfileError(f"{provider.label} sent no usable subject (sub).")
    verified = claims.get("email_verified")
    return Profile(
        subject=str(subject),
        login=_text(claims.get("preferred_username")) or _text(claims.get("nickname")),
        email=_text(claims.get("email"), 254),
        email_verified=verified is True or verified == "true",
        name=_text(claims.get("name"), 150),
        groups=_groups(claims.get(provider.groups_claim)),
        hosted_domain=_text(claims.get("hd")).lower(),
    )


def oidc_profile(provider: Provider, app, token: dict) -> Profile:
    """The ID token's verified claims (authlib checked signature, issuer, audience, nonce), completed from
    the userinfo endpoint when they lack the email or the groups a check needs."""
    claims = dict(token.get("userinfo") or {})
    if not claims:
        raise ProfileError(f"{provider.label} sent no ID token.")
    needs_groups = bool(provider.group) and provider.groups_claim not in claims
    if needs_groups or "email" not in claims:
        metadata = app.load_server_metadata()
        if metadata.get("userinfo_endpoint"):
            extra = dict(app.userinfo(token=token))
            if str(extra.get("sub")) != str(claims.get("sub")):
                raise ProfileError(f"{provider.label}'s userinfo is about someone else.")
            claims = {**extra, **claims}
    return from_claims(provider, claims)


def github_profile(provider: Provider, app, token: dict) -> Profile:
    user = app.get("user", token=token).json()
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise ProfileError("GitHub sent no usable account.")
    login = _text(user.get("login"))
    email, verified = "", False
    emails = app.get("user/emails", token=token).json()
    if isinstance(emails, list):
        primary = [e for e in emails[:100] if isinstance(e, dict) and e.get("primary") and e.get("verified")]
        if primary:
            email, verified = _text(primary[0].get("email"), 254), True
    groups: list[str] = []
    if provider.organization:
        org = quote(provider.organization, safe="")
        if app.get(f"orgs/{org}/members/{quote(login, safe='')}", token=token).status_code == 204:
            groups.append(provider.organization)
        if provider.team:
            answer = app.get(f"orgs/{org}/teams/{quote(provider.team, safe='')}/memberships/{quote(login, safe='')}",
                             token=token)
            membership = answer.json() if answer.status_code == 200 else {}
            if isinstance(membership, dict) and membership.get("state") == "active":
                groups.append(f"{provider.organization}/{provider.team}")
    return Profile(subject=str(user["id"]), login=login, email=email, email_verified=verified,
                   name=_text(user.get("name"), 150), groups=tuple(groups))


def refusal(provider: Provider, profile: Profile) -> str | None:
    """Why this Portus does not admit `profile`, or None."""
    if provider.domains:
        domain = profile.email.rpartition("@")[2].lower() if profile.email_verified else ""
        if domain not in provider.domains:
            return (f"Only accounts with a verified email address in {', '.join(provider.domains)} may sign in "
                    f"with {provider.label}.")
    if provider.hosted_domain and profile.hosted_domain != provider.hosted_domain:
        return f"Only accounts of the Google domain {provider.hosted_domain} may sign in."
    if provider.organization:
        needed = f"{provider.organization}/{provider.team}" if provider.team else provider.organization
        if needed not in profile.groups:
            return f"Only members of the GitHub {'team' if provider.team else 'organization'} {needed} may sign in."
    elif provider.group:
        if provider.group not in profile.groups:  # exactly: a subgroup's members are not the group's
            return f"Only members of the group {provider.group} may sign in with {provider.label}."
    return None
