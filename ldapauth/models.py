"""Which accounts come from the directory, which team memberships the group sync made, and its state."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LdapAccount(models.Model):
    """A Portus account whose password is the directory's: made by its first LDAP sign-in.

    Its existence is what sends the account's password logins to LDAP (ldapauth/login.py); accounts
    without one are local and keep their own password."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ldap_account")
    # Lowercased: DNs compare case-insensitively, and member attributes spell them as they please.
    dn = models.CharField(max_length=1024, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_bind_at = models.DateTimeField(null=True, blank=True)
    # Admin because `ldap.admin_base` said so: only such rights are taken when the entry leaves it, never
    # those given in Portus (the first admin, one made by hand).
    admin_from_directory = models.BooleanField(default=False)

    class Meta:
        ordering = ["dn"]

    def __str__(self) -> str:
        return self.dn


class LdapTeamMembership(models.Model):
    """A team membership the group sync made. Only these are removed when the person leaves the group,
    so members added by hand (local accounts, an LDAP user given a second role) stay."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group_dn = models.CharField(max_length=1024)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_ldap_team_membership")]


class LdapSyncState(models.Model):
    """The one row that says when the group sync ran and who holds it now (a lease, so that of several
    background processes one runs it at a time, and a crashed one gives it up)."""

    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=20, blank=True)  # "ok" or "failed"
    last_summary = models.TextField(blank=True)
    # Set by a request for a run at the next turn (a team's "check LDAP group"); cleared when a run starts.
    requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"LDAP group sync: {self.last_outcome or 'never run'}"
