"""The Docker Distribution registries this service authorises and mirrors."""

from __future__ import annotations

from django.db import models


class Registry(models.Model):
    name = models.CharField(max_length=255, unique=True)
    # host[:port] the registry is reached at by this service; also the token `service`.
    hostname = models.CharField(max_length=255, unique=True)
    # host[:port] clients use, when it differs (behind a proxy).
    external_hostname = models.CharField(max_length=255, blank=True)
    use_ssl = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.name

    @property
    def base_url(self) -> str:
        return f"{'https' if self.use_ssl else 'http'}://{self.hostname}"

    @property
    def reference_host(self) -> str:
        """The host clients put in front of image names."""
        return self.external_hostname or self.hostname

    def matches_host(self, host: str) -> bool:
        host = (host or "").strip().lower()
        return bool(host) and host in {self.hostname.lower(), self.external_hostname.lower()}

    @classmethod
    def for_host(cls, host: str) -> Registry | None:
        """The registry known by this host (the token `service`, or an event's `request.host`)."""
        host = (host or "").strip().lower()
        if not host:
            return None
        for registry in cls.objects.all():
            if registry.matches_host(host):
                return registry
        return None

    @classmethod
    def default(cls) -> Registry | None:
        return cls.objects.order_by("id").first()
