"""One row per client address and fixed window: how many failed logins it made there (ratelimits.services
judges the last two windows together, as a sliding one)."""

from __future__ import annotations

from django.db import models


class FailureCounter(models.Model):
    """Failed logins (and password reset requests) from one address key in one fixed window.

    `address` is the client address, IPv6 grouped by /64 (ratelimits.addresses); `window_start` the
    window's first second (Unix time, a multiple of `rate_limit.window_seconds`). Rows older than the
    previous window are deleted as new ones are written, so the table holds about two windows' failures."""

    address = models.CharField(max_length=64)
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "window_start"], name="unique_failure_window"),
        ]
        indexes = [models.Index(fields=["window_start"], name="failure_window_start")]

    def __str__(self) -> str:
        return f"{self.address} @{self.window_start}: {self.count}"
