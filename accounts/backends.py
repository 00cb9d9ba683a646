"""Django authentication backend for the web UI: the same checks, lockout and limits as the token endpoint."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts import credentials
from accounts.models import User
from ratelimits.addresses import address_key


class PortusBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        address = address_key(request) if request is not None else None
        result = credentials.verify(username, password, allow_tokens=False, address=address, interactive=True)
        if request is not None:
            request.portus_login_failure = result.failure
            request.portus_login_result = result
        return result.user if result.ok else None

    def user_can_authenticate(self, user: User) -> bool:
        # A lock refuses password logins only (accounts/credentials.py): an open session survives it.
        return user.enabled

    def get_user(self, user_id):
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
