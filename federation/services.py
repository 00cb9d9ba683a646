"""Signing in with, signing up with, linking and unlinking an identity at a provider."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from activities.services import activity_record
from federation import usernames
from federation.models import ExternalIdentity
from federation.profiles import Profile
from federation.providers import Provider
from namespaces import policy


class Refused(Exception):
    """The sign-in or link cannot go on; the message is for the person."""


def _identity_of(provider: Provider, profile: Profile) -> ExternalIdentity | None:
    return (ExternalIdentity.objects.select_related("user")
            .filter(provider=provider.key, subject=profile.subject).first())


def _remember(identity: ExternalIdentity, profile: Profile) -> None:
    identity.login, identity.email = profile.login[:255], profile.email[:254]
    identity.last_used_at = timezone.now()
    identity.save(update_fields=["login", "email", "last_used_at"])


def identity_sign_in(*, provider: Provider, profile: Profile) -> User:
    """The user this identity belongs to, created on its first sign-in. An existing account is never
    taken over because its email matches: its owner links the identity from the profile page."""
    identity = _identity_of(provider, profile)
    if identity is not None:
        user = identity.user
        if not user.enabled:
            raise Refused("This account is disabled.")
        if not policy.can_use_ui(user):
            raise Refused("This account cannot sign in here.")
        _remember(identity, profile)
        return user
    email = profile.email if profile.email_verified else ""
    if email and User.objects.filter(email__iexact=email).exists():
        raise Refused(f"An account with the email address {email} exists already. Sign in to it (with its "
                      f"password) and link your {provider.label} identity on the profile page.")
    return _sign_up(provider=provider, profile=profile, email=email)


def _sign_up(*, provider: Provider, profile: Profile, email: str) -> User:
    from accounts.services import user_create

    base = usernames.base_name(login=profile.login, email=profile.email, name=profile.name)
    for username in usernames.candidates(base):
        try:
            with transaction.atomic():
                user = user_create(username=username, email=email or None, password=None,
                                   display_name=profile.name[:150])
                identity = ExternalIdentity.objects.create(user=user, provider=provider.key, subject=profile.subject,
                                                           login=profile.login[:255], email=profile.email[:254],
                                                           last_used_at=timezone.now())
        except ValidationError as exc:
            if "username" in getattr(exc, "message_dict", {}):
                continue  # taken or reserved: the next candidate
            raise Refused("; ".join(exc.messages)) from None
        except IntegrityError:
            existing = _identity_of(provider, profile)  # the same person twice at once
            if existing is not None:
                return existing.user
            continue
        activity_record(key="external_identity.sign_up", owner=user, target=user,
                        parameters={"provider": provider.label, "login": identity.login})
        return user
    raise Refused("No free user name could be found for this account; ask an administrator.")


def identity_link(*, user: User, provider: Provider, profile: Profile) -> ExternalIdentity:
    if not policy.can_use_ui(user):
        raise Refused("This account cannot link identities.")
    existing = _identity_of(provider, profile)
    if existing is not None:
        if existing.user_id == user.pk:
            _remember(existing, profile)
            return existing
        raise Refused(f"This {provider.label} identity belongs to another Portus account already.")
    if ExternalIdentity.objects.filter(user=user, provider=provider.key).exists():
        raise Refused(f"Your account is linked to another {provider.label} identity; unlink it first.")
    try:
        identity = ExternalIdentity.objects.create(user=user, provider=provider.key, subject=profile.subject,
                                                   login=profile.login[:255], email=profile.email[:254],
                                                   last_used_at=timezone.now())
    except IntegrityError:
        raise Refused(f"This {provider.label} identity was linked at the same moment elsewhere.") from None
    activity_record(key="external_identity.link", owner=user, target=user,
                    parameters={"provider": provider.label, "login": identity.login or identity.subject})
    return identity


def identity_unlink(*, identity: ExternalIdentity, by: User, label: str) -> None:
    """Refused when it is the account's only way into the web UI (no password, no other identity)."""
    user = identity.user
    others = ExternalIdentity.objects.filter(user=user).exclude(pk=identity.pk).exists()
    if not user.has_usable_password() and not others:
        raise Refused("This identity is the only way to sign in to your account: link another one first.")
    identity.delete()
    activity_record(key="external_identity.unlink", owner=by, target=user,
                    parameters={"provider": label, "login": identity.login or identity.subject})
