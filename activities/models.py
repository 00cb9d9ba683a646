"""The activity log: who did what, and when."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

# The log's one order, newest first; (created_at, id) is unique, so it is total even where times tie.
NEWEST_FIRST = ("-created_at", "-id")


class ActivityQuerySet(models.QuerySet):
    def older_than(self, moment: datetime, pk: int) -> ActivityQuerySet:
        """The rows after (moment, pk) in NEWEST_FIRST order.

        Spelt as `created_at <= moment AND (created_at < moment OR id < pk)`: the first half is a range on
        the (created_at, id) index that every database seeks into, the second drops the few rows of the same
        second already shown."""
        return self.filter(Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(pk__lt=pk)))

    def newer_than(self, moment: datetime, pk: int) -> ActivityQuerySet:
        """The rows before (moment, pk) in NEWEST_FIRST order (to be read oldest first, towards it)."""
        return self.filter(Q(created_at__gte=moment) & (Q(created_at__gt=moment) | Q(pk__gt=pk)))

    def in_batches(self, size: int) -> Iterator[Activity]:
        """Every row, NEWEST_FIRST, read `size` at a time by keyset: one short query per batch, whatever
        the table's size, with no cursor held open (and no whole result materialised) between batches."""
        after: tuple[datetime, int] | None = None
        while True:
            batch = self if after is None else self.older_than(*after)
            rows = list(batch.order_by(*NEWEST_FIRST)[:size])
            yield from rows
            if len(rows) < size:
                return
            after = rows[-1].created_at, rows[-1].pk

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

    # The foreign keys have no index of their own: the composite indexes below lead with each of them.
    key = models.CharField(max_length=64)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # What it is about; kept as text too, so the log survives the object's deletion.
    target_type = models.CharField(max_length=32)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_name = models.CharField(max_length=512, blank=True)
    namespace = models.ForeignKey(
        "namespaces.Namespace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = list(NEWEST_FIRST)
        verbose_name_plural = "activities"
        # Each list of the log reads one of these backwards from its newest row (or from a cursor): the whole
        # log, one namespace's, one team's, one person's, one kind of event. The id is in each, so rows of the
        # same second come out in order from the index, not from a sort.
        indexes = [
            models.Index(fields=["created_at", "id"], name="activity_newest"),
            models.Index(fields=["namespace", "created_at", "id"], name="activity_namespace_newest"),
            models.Index(fields=["team", "created_at", "id"], name="activity_team_newest"),
            models.Index(fields=["owner", "created_at", "id"], name="activity_owner_newest"),
            models.Index(fields=["key", "created_at", "id"], name="activity_key_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.target_name}"
