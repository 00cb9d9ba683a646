"""Django authentication backend for the web UI: the same checks, lockout and cache as the token endpoint."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts import credentials
from accounts.models import User


class PortusBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        result = credentials.verify(username, password, allow_tokens=False)
        if request is not None:
            request.portus_login_failure = result.failure
        return result.user if result.ok else None

    def user_can_authenticate(self, user: User) -> bool:
        return user.enabled and not user.is_locked()

    def get_user(self, user_id):
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
