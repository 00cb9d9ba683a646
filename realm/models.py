"""The authorization generation: one number that changes whenever anything a token decision reads does."""

from __future__ import annotations

from django.db import models


class AuthorizationGeneration(models.Model):
    """A single row (id 1). Database triggers on every table the token decision reads give `value` a new,
    never repeated number in the same transaction as the change (realm/generation.py); the token
    endpoint's caches hold an answer only under the number it was computed at."""

    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "realm_authorization_generation"

    def __str__(self) -> str:
        return str(self.value)
