"""Adding and removing second factors, each change recorded in the activity log."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import RefreshToken, User
from activities.services import activity_record
from twofactor import recovery, totp
from twofactor.models import Passkey, RecoveryCode, TotpDevice, TwoFactorState
from twofactor.passkeys import MAX_PASSKEYS, NewPasskey


def state_of(user: User) -> TwoFactorState:
    state, _ = TwoFactorState.objects.get_or_create(user=user)
    return state


def has_second_factor(user: User) -> bool:
    """A confirmed authenticator or a passkey. Recovery codes alone are no factor: they back one up."""
    if not getattr(user, "pk", None):
        return False
    # One query: this sits on the token endpoint's path for every right password.
    return User.objects.filter(pk=user.pk).filter(
        Q(totp_device__confirmed_at__isnull=False) | Q(passkeys__isnull=False)).exists()


def _first_factor_added(user: User) -> list[str]:
    """The password stops opening the registry: clients that logged in with it (refresh tokens minted
    with the password) are signed out too, or a password that leaked before would still be a way in.
    Returns the first recovery codes."""
    RefreshToken.objects.filter(user=user, application_token__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    return recovery_codes_regenerate(user=user, by=user, first=True)


def _after_last_factor_removed(user: User) -> None:
    """With no factor left, recovery codes would be a way in that backs up nothing."""
    if not has_second_factor(user):
        RecoveryCode.objects.filter(user=user).delete()


@transaction.atomic
def recovery_codes_regenerate(*, user: User, by: User, first: bool = False) -> list[str]:
    """A fresh set of codes (the old ones stop working); returned once, stored hashed."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = [recovery.new_code() for _ in range(recovery.COUNT)]
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=recovery.digest(c)) for c in codes)
    if not first:
        activity_record(key="user.recovery_codes_regenerate", owner=by, target=user)
    return codes


def totp_begin(*, user: User) -> str:
    """A new, unconfirmed secret for the authenticator app (replacing an unconfirmed one)."""
    secret = totp.new_secret()
    TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).delete()
    if TotpDevice.objects.filter(user=user).exists():
        raise ValidationError("An authenticator app is already set up: remove it first.")
    TotpDevice.objects.create(user=user, encrypted_secret=totp.encrypt(secret))
    return secret


@transaction.atomic
def totp_confirm(*, user: User, code: str) -> list[str] | None:
    """Confirms the pending secret with a code from the app. Returns the new recovery codes when this is
    the user's first factor (their codes are made then), an empty list otherwise, None for a wrong code."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
    if device is None or not totp.check_code(device, code):
        return None
    first = not has_second_factor(user)
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
    state_of(user)
    activity_record(key="user.two_factor_add", owner=user, target=user, parameters={"factor": "authenticator app"})
    return _first_factor_added(user) if first else []


@transaction.atomic
def totp_remove(*, user: User, by: User) -> None:
    deleted, _ = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).delete()
    TotpDevice.objects.filter(user=user).delete()
    if deleted:
        activity_record(key="user.two_factor_remove", owner=by, target=user,
                        parameters={"factor": "authenticator app"})
    _after_last_factor_removed(user)


@transaction.atomic
def passkey_add(*, user: User, name: str, new: NewPasskey) -> tuple[Passkey, list[str]]:
    """Stores a verified passkey; the recovery codes come back when it is the user's first factor."""
    name = (name or "").strip()[:64] or "Passkey"
    if Passkey.objects.filter(user=user).count() >= MAX_PASSKEYS:
        raise ValidationError(f"At most {MAX_PASSKEYS} passkeys per account: remove one first.")
    if Passkey.objects.filter(credential_id=new.credential_id).exists():
        raise ValidationError("This passkey is already registered.")
    base, n = name, 2
    while Passkey.objects.filter(user=user, name=name).exists():
        name = f"{base[:58]} ({n})"
        n += 1
    first = not has_second_factor(user)
    state_of(user)
    passkey = Passkey.objects.create(user=user, name=name, credential_id=new.credential_id,
                                     public_key=new.public_key, sign_count=new.sign_count,
                                     transports=new.transports, backed_up=new.backed_up)
    activity_record(key="user.two_factor_add", owner=user, target=user, parameters={"factor": f"passkey “{name}”"})
    codes = _first_factor_added(user) if first else []
    return passkey, codes


@transaction.atomic
def passkey_remove(*, passkey: Passkey, by: User) -> None:
    user = passkey.user
    activity_record(key="user.two_factor_remove", owner=by, target=user,
                    parameters={"factor": f"passkey “{passkey.name}”"})
    passkey.delete()
    _after_last_factor_removed(user)


@transaction.atomic
def factors_reset(*, user: User, by: User) -> None:
    """An admin takes every factor off an account whose owner lost them (the owner then signs in with
    the password alone, and must enrol again where a factor is required)."""
    had = has_second_factor(user)
    TotpDevice.objects.filter(user=user).delete()
    Passkey.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    if had:
        activity_record(key="user.two_factor_reset", owner=by, target=user)
