"""TOTP (RFC 6238, 30-second steps, 6 digits, SHA-1: what every authenticator app speaks), its secret
kept encrypted, its codes checked in constant time and each accepted at most once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils import timezone

from twofactor.models import TotpDevice

ISSUER = "Portus"
DIGITS = 6
INTERVAL = 30
# Steps either side of now that are accepted: a phone's clock a little off, a code typed as it turns.
DRIFT_STEPS = 1


def _fernet() -> Fernet:
    key = hashlib.sha256(f"portus:totp-secret:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    """160 random bits in base32, the length RFC 4226 recommends."""
    return pyotp.random_base32(32)


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(device: TotpDevice) -> str | None:
    """The device's secret, or None when it was encrypted under another secret key (the device must be
    set up again then)."""
    try:
        return _fernet().decrypt(device.encrypted_secret.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(name=username, issuer_name=issuer)


def normalise(code: str) -> str:
    """Digits only: people type spaces and dashes, apps show `123 456`."""
    return "".join(ch for ch in (code or "")[:32] if ch not in " -\t")


def looks_like_code(code: str) -> bool:
    text = normalise(code)
    return len(text) == DIGITS and text.isascii() and text.isdigit()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code `code` is, within the drift window, or None. Every candidate is
    compared, each in constant time, so the answer's timing says nothing about which step matched."""
    text = normalise(code)
    if not looks_like_code(text):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    current = int((time.time() if now is None else now) // INTERVAL)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), text.encode()) and found is None:
            found = step
    return found


def check_code(device: TotpDevice, code: str, *, now: float | None = None) -> bool:
    """True once per code: the step is claimed with a conditional UPDATE, so two requests racing with
    the same code (or one replaying it later) cannot both pass."""
    secret = decrypt(device)
    if secret is None:
        return False
    step = matching_step(secret, code, now=now)
    if step is None:
        return False
    claimed = TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(
        last_step=step, last_used_at=timezone.now())
    if claimed:
        device.last_step = step
    return bool(claimed)
