"""Proof of presence before a factor is removed or codes are remade: the password or a current code,
checked like a login (the address's budget, the account's lock, each wrong one counted)."""

from __future__ import annotations

from accounts.models import record_failed_login
from ratelimits.addresses import address_key
from ratelimits.services import failure_record, failure_wait
from twofactor import totp
from twofactor.models import TotpDevice


class Refused(Exception):
    def __init__(self, message: str, status: int = 400, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


def check(request, user, secret: str) -> None:
    """Returns when `secret` is the user's password or a current code; raises Refused otherwise."""
    address = address_key(request)
    if wait := failure_wait(address=address):
        raise Refused("Too many failed attempts from your address: try again later.", 429, wait)
    secret = secret or ""
    if totp.looks_like_code(secret):
        device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
        if device is not None and totp.check_code(device, secret):
            return
    elif not user.is_locked() and user.has_usable_password() and user.check_password(secret):
        return
    failure_record(address=address)
    if not totp.looks_like_code(secret):
        record_failed_login(user.pk)
    raise Refused("That is neither your password nor a current code of your authenticator app.")
