"""Second factors: a TOTP authenticator, recovery codes and passkeys (WebAuthn credentials), per user."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _new_user_handle() -> bytes:
    return secrets.token_bytes(32)


class TwoFactorState(models.Model):
    """What the second step knows of a user: the random WebAuthn user handle (never the primary key,
    which would tell an authenticator's owner how many accounts came before), and the count of wrong
    second-step answers, kept apart from the password's lockout counter because a right password resets
    that one: whoever knows the password must not get fresh guesses at the code by signing in again."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="twofactor")
    user_handle = models.BinaryField(max_length=64, unique=True, default=_new_user_handle)
    failed_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def is_locked(self, now=None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())


class TotpDevice(models.Model):
    """An authenticator app's shared secret, encrypted under a key derived from the secret key (a TOTP
    secret cannot be hashed: the server must compute codes from it). `last_step` is the time step of the
    last accepted code: a code of that step or an earlier one is refused, so no code works twice."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    encrypted_secret = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A single-use code for when the authenticator is lost; only its keyed hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="unique_recovery_code_per_user")]


class Passkey(models.Model):
    """A WebAuthn credential: its id, public key (COSE) and signature counter, with a name the user chose."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=64)
    credential_id = models.BinaryField(max_length=1023, unique=True)
    public_key = models.BinaryField(max_length=4096)
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    backed_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="unique_passkey_name_per_user")]

    def __str__(self) -> str:
        return self.name
