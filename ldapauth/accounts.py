"""The Portus account of a directory entry: made at the first sign-in, its admin flag and teams updated
at each bind that the credential cache did not answer."""

from __future__ import annotations

import logging
import secrets

import ldap.dn
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from activities.services import activity_record
from ldapauth import directory
from ldapauth.models import LdapAccount
from portus.options import option

log = logging.getLogger("ldapauth")


class AccountRefused(Exception):
    """The directory knows the person, but Portus cannot give them this account; the text says why."""


def _entry_name(username: str, attrs: dict) -> str:
    """The name as the directory spells it (the uid value that matched what was typed), lowercased:
    Portus names are lowercase, LDAP's uid matches without regard to case."""
    for value in directory.text_values(attrs, option("ldap.uid")):
        if value.lower() == username.lower():
            return value.lower()
    return username.lower()


def guess_email(username: str, dn: str, attrs: dict) -> str | None:
    """Portus's `guess_email`: the attribute `attr`, else user@<the dc= parts of the DN>; None when that
    is no valid address or another account has it already (the email is unique)."""
    if not option("ldap.guess_email.enabled"):
        return None
    attr = option("ldap.guess_email.attr").strip()
    if attr:
        values = directory.text_values(attrs, attr)
        email = values[0].strip() if values else ""
    else:
        try:
            parts = [value for rdn in ldap.dn.str2dn(dn) for kind, value, _ in rdn if kind.lower() == "dc"]
        except ldap.DECODING_ERROR:
            parts = []
        email = f"{username}@{'.'.join(parts)}" if parts else ""
    if not email or len(email) > 254:
        return None
    try:
        validate_email(email)
    except ValidationError:
        return None
    if User.objects.filter(email__iexact=email).exists():
        log.info("LDAP: %s's email %s belongs to another account; left empty", username, email)
        return None
    return email


def _account_user(dn: str) -> User | None:
    account = LdapAccount.objects.select_related("user").filter(dn=dn).first()
    return account.user if account is not None else None


def account_for_entry(*, username: str, dn: str, attrs: dict) -> User:
    """The account of the directory entry `dn`, created on its first sign-in."""
    from ldapauth.login import validate_new_username

    key = dn.lower()
    if (user := _account_user(key)) is not None:
        return user
    name = _entry_name(username, attrs)
    problem = validate_new_username(name)
    if problem:
        raise AccountRefused(f"the directory's name {name[:64]!r} cannot be a Portus user name: {problem}")
    if User.objects.filter(username=name).exists():
        if (user := _account_user(key)) is not None:
            return user  # made just now by a first sign-in of the same person in another request
        log.warning("LDAP: %s signed in, but a local account holds the name %s: refused (rename or delete the "
                    "local account to let the directory's user in)", key[:200], name)
        raise AccountRefused(f"a local account is named {name}")
    # Hashed before the transaction: the hasher's time must not hold the database's write lock.
    password = make_password(secrets.token_urlsafe(32))
    try:
        return _create(name=name, dn=key, attrs=attrs, password=password)
    except (IntegrityError, ValidationError) as exc:
        # Two first sign-ins of one person at once: the other one made it (the name is then taken).
        if (user := _account_user(key)) is not None:
            return user
        messages = exc.messages if isinstance(exc, ValidationError) else [f"the account {name} could not be made"]
        raise AccountRefused(" ".join(messages)) from None


@transaction.atomic
def _create(*, name: str, dn: str, attrs: dict, password: str) -> User:
    """`password`: the hash of a random password nobody knows (the directory's is the one that counts),
    usable so that the refresh tokens of `docker login` can bind to it (accounts.models.RefreshToken)."""
    from accounts.services import first_user_lock, user_create

    # As Portus did: on an empty instance, the first person to sign in becomes its admin.
    first = first_user_lock() and option("first_user_admin.enabled")
    user = user_create(username=name, email=guess_email(name, dn, attrs), password=None, check_password=False,
                       admin=first)
    user.password = password
    user.save(update_fields=["password"])
    LdapAccount.objects.create(user=user, dn=dn)
    activity_record(key="user.ldap_create", owner=user, target=user, parameters={"dn": dn[:512]})
    return user


def is_admin_entry(dn: str, group_dns) -> bool:
    """`ldap.admin_base`: a group the entry belongs to (nested groups count), or a base it lives under."""
    base = option("ldap.admin_base").strip().lower()
    if not base:
        return False
    dn = dn.lower()
    return base in {g.lower() for g in group_dns} or dn.endswith("," + base)


def admin_set(*, user: User, admin: bool, reason: str) -> bool:
    """Gives or takes admin rights because the directory says so. Takes only what it gave, and never
    the last enabled admin's (that one stays, and the log says why); False when nothing changed."""
    if user.admin == admin:
        return False
    if not admin:
        if not LdapAccount.objects.filter(user=user, admin_from_directory=True).exists():
            return False  # made admin in Portus, not by the directory: not the directory's to take
        if not User.objects.filter(admin=True, enabled=True, bot=False).exclude(pk=user.pk).exists():
            log.warning("LDAP: %s left %s but is the last enabled admin: kept", user.username, reason)
            return False
    User.objects.filter(pk=user.pk).update(admin=admin, updated_at=timezone.now())
    LdapAccount.objects.filter(user=user).update(admin_from_directory=admin)
    user.admin = admin
    activity_record(key="user.ldap_admin_grant" if admin else "user.ldap_admin_revoke", target=user,
                    parameters={"base": option("ldap.admin_base")[:512]})
    return True


def after_bind(user: User, ldap_user) -> None:
    """What a fresh bind teaches: admin by `admin_base`, teams by group. Only additions here: a group
    search that failed reads as "no groups", so removals wait for the background sync, which knows."""
    LdapAccount.objects.filter(user=user).update(last_bind_at=timezone.now())
    if not (option("ldap.admin_base").strip() or option("ldap.group_sync.enabled")):
        return
    group_dns = [g.lower() for g in ldap_user.group_dns]
    if is_admin_entry(ldap_user.dn, group_dns) and not user.admin:
        admin_set(user=user, admin=True, reason="admin_base")
    if option("ldap.group_sync.enabled"):
        from ldapauth.sync import memberships_add_for_user

        memberships_add_for_user(user=user, group_dns=group_dns)
