"""The activity log: who did what, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ActivityQuerySet(models.QuerySet):
    def visible_to(self, user) -> ActivityQuerySet:
        """Activities about namespaces the user may pull from or teams they belong to; all for admins."""
        from django.db.models import Q

        from namespaces import policy
        from teams.models import TeamMember

        if user is not None and user.is_authenticated and user.admin:
            return self
        q = Q(namespace__isnull=False) & policy.pullable_namespaces_q(user, prefix="namespace__")
        if user is not None and user.is_authenticated:
            # A subquery, not a join: a join would repeat the row once per member of the team.
            mine = TeamMember.objects.filter(user_id=user.pk).values("team_id")
            q |= Q(namespace__isnull=True, team_id__in=mine)
            q |= Q(namespace__isnull=True, team__isnull=True, owner=user)
        return self.filter(q)


class Activity(models.Model):
    """One thing that happened. `key` is Portus's (e.g. `repository.push`, `team.add_member`)."""

    key = models.CharField(max_length=64, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What it is about; kept as text too, so the log survives the object's deletion.
    target_type = models.CharField(max_length=32)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_name = models.CharField(max_length=512, blank=True)
    namespace = models.ForeignKey(
        "namespaces.Namespace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["namespace", "-created_at"]),
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["key", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.target_name}"
