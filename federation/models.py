"""Identities a user holds at a provider, and the trust a robot places in CI issuers."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExternalIdentity(models.Model):
    """One account at one provider, linked to one Portus user. `subject` is the provider's stable id
    (OIDC `sub`, GitHub's numeric id): never the email, which may change hands."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    provider = models.CharField(max_length=32)
    subject = models.CharField(max_length=255)
    # What the provider said at the last sign-in, to show on the profile page.
    login = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="federation_identity_unique"),
            models.UniqueConstraint(fields=["user", "provider"], name="federation_one_identity_per_provider"),
        ]
        ordering = ["provider"]

    def __str__(self) -> str:
        return f"{self.provider}:{self.login or self.subject}"


class TrustPolicy(models.Model):
    """A robot accepts an ID token from `issuer`, for `audience`, whose claims match `rules`
    (federation/rules.py). No secret is stored: the issuer's signature is the credential."""

    MAX_RULES_LENGTH = 1000

    robot = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trust_policies")
    issuer = models.CharField(max_length=500)
    # Empty: the instance's audience (keyless.audience, else https://<machine_fqdn>).
    audience = models.CharField(max_length=500, blank=True)
    rules = models.TextField(max_length=MAX_RULES_LENGTH)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["robot_id", "pk"]
        indexes = [models.Index(fields=["robot", "enabled"], name="federation_policy_robot")]
        verbose_name_plural = "trust policies"

    def __str__(self) -> str:
        return f"{self.robot} ← {self.issuer}"
