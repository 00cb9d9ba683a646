"""Per-repository grants: a user, a team or a robot gets pull, push or admin on one repository of a
namespace, or on the repositories whose names match a pattern (grants/patterns.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Func, Q


class Permission(models.TextChoices):
    PULL = "pull", "Pull"
    PUSH = "push", "Pull and push"
    ADMIN = "admin", "Admin"  # pull, push, delete (with delete.enabled) and edit the description


RANK = {Permission.PULL: 1, Permission.PUSH: 2, Permission.ADMIN: 3}


class RepositoryGrant(models.Model):
    namespace = models.ForeignKey("namespaces.Namespace", on_delete=models.CASCADE, related_name="grants")
    # The repository's name inside the namespace (`app`, `tools/lint`) or a glob (`app/*`).
    pattern = models.CharField(max_length=255)
    # `pattern` as SQL LIKE (escape `!`), kept beside it so that lists filter in the database.
    like_pattern = models.CharField(max_length=520, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="repository_grants")
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="repository_grants")
    permission = models.CharField(max_length=8, choices=Permission.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace_id", "pattern", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False)),
                name="grant_to_user_or_team",
            ),
            models.UniqueConstraint(fields=["namespace", "pattern", "user"], condition=Q(user__isnull=False),
                                    name="one_grant_per_user_and_pattern"),
            models.UniqueConstraint(fields=["namespace", "pattern", "team"], condition=Q(team__isnull=False),
                                    name="one_grant_per_team_and_pattern"),
        ]
        indexes = [models.Index(fields=["user"]), models.Index(fields=["team"])]

    def __str__(self) -> str:
        return f"{self.permission} on {self.pattern} to {self.grantee_name}"

    @property
    def grantee_name(self) -> str:
        return self.user.username if self.user_id else f"team {self.team.name}"

    @property
    def grantee_kind(self) -> str:
        if self.team_id:
            return "team"
        return "robot" if self.user.is_robot else "user"


class Like(Func):
    """`lhs LIKE rhs ESCAPE '!'` as a condition (rhs is a column holding a LIKE pattern, never user text)."""

    arg_joiner = " LIKE "
    template = "(%(expressions)s ESCAPE '!')"
    output_field = BooleanField()
    conditional = True
