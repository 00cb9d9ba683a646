"""Retention rules (per instance, namespace or repository), runs, and each run's report lines."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from retention import patterns

MAX_DAYS = 36500  # a hundred years: anything longer is a typo


class Rule(models.Model):
    """What may be deleted. The most specific rule of a repository applies, whole (no field-by-field
    merging, so the report can name the one rule behind each decision): its own, else its namespace's,
    else the instance rule (whose defaults come from Portus's `delete.garbage_collector.*`)."""

    class Scope(models.TextChoices):
        INSTANCE = "instance"
        NAMESPACE = "namespace"
        REPOSITORY = "repository"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    namespace = models.ForeignKey("namespaces.Namespace", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="retention_rules")
    repository = models.ForeignKey("namespaces.Repository", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="retention_rules")
    enabled = models.BooleanField(default=False)
    # A tag becomes deletable when every condition set holds (None: not a condition).
    older_than_days = models.PositiveIntegerField(null=True, blank=True)
    not_pulled_days = models.PositiveIntegerField(null=True, blank=True)
    # The newest K tags matched by `include` (protected ones not counted) are always kept.
    keep_latest = models.PositiveIntegerField(default=0)
    include = models.JSONField(default=list, blank=True)  # globs; [] means every tag
    protect = models.JSONField(default=list, blank=True)  # globs; a match is never deleted
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scope"], condition=Q(scope="instance"), name="one_instance_rule"),
            models.UniqueConstraint(fields=["namespace"], condition=Q(scope="namespace"),
                                    name="one_rule_per_namespace"),
            models.UniqueConstraint(fields=["repository"], condition=Q(scope="repository"),
                                    name="one_rule_per_repository"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.scope == self.Scope.REPOSITORY and self.repository is not None:
            return f"rule of repository {self.repository.full_name}"
        if self.scope == self.Scope.NAMESPACE and self.namespace is not None:
            return f"rule of namespace {self.namespace.display_name}"
        return "instance rule"

    def clean(self) -> None:
        errors = {}
        for name in ("include", "protect"):
            try:
                setattr(self, name, patterns.validate_list(getattr(self, name)))
            except patterns.PatternError as exc:
                errors[name] = str(exc)
        for name in ("older_than_days", "not_pulled_days", "keep_latest"):
            value = getattr(self, name)
            if value is not None and value > MAX_DAYS:
                errors[name] = f"at most {MAX_DAYS}"
        if self.enabled and not self.older_than_days and not self.not_pulled_days and not self.keep_latest:
            # A rule without any condition would delete every tag it includes. (A disabled one without
            # any is how a namespace or repository opts out of the rule above it.)
            errors["older_than_days"] = "Set an age, a pull age or a number of tags to keep."
        if errors:
            raise ValidationError(errors)


class Run(models.Model):
    """One retention run: its plan (the items), its progress and its outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued"  # waiting for a background process (or resumed)
        RUNNING = "running"
        PAUSED = "paused"
        DONE = "done"
        FAILED = "failed"  # could not plan; items done before stay done
        CANCELLED = "cancelled"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"  # the UI or the API
        COMMAND = "command"  # manage.py retention

    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    # None: every namespace of every registry.
    namespace = models.ForeignKey("namespaces.Namespace", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    namespace_name = models.CharField(max_length=300, blank=True)  # kept when the namespace goes
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pause_requested = models.BooleanField(default=False)
    # n of m: images (digests) handled of those planned for deletion.
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)  # images
    deleted_tags = models.PositiveIntegerField(default=0)
    kept_count = models.PositiveIntegerField(default=0)  # tags
    error_count = models.PositiveIntegerField(default=0)
    repositories = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)  # why the run failed as a whole
    errors = models.JSONField(default=list, blank=True)  # what could not be read while planning (bounded)
    kept_listed = models.PositiveIntegerField(default=0)  # kept tags with a report line (the first MAX_KEPT_ITEMS)
    # The background process holding it, until when (a crashed one's run is taken over after the lease).
    holder = models.CharField(max_length=255, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "lease_until"], name="retention_run_claim")]

    def __str__(self) -> str:
        return f"retention run #{self.pk}"

    @property
    def scope_label(self) -> str:
        return f"namespace {self.namespace_name}" if self.namespace_name else "every namespace"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)


class Item(models.Model):
    """One line of a run's report: an image (digest) to delete with its tags, or one tag kept and why."""

    class Action(models.TextChoices):
        DELETE = "delete"
        KEEP = "keep"

    class Status(models.TextChoices):
        PLANNED = "planned"
        DELETED = "deleted"
        SKIPPED = "skipped"  # not deleted after all: what changed since the plan is in `note`
        ERROR = "error"
        KEPT = "kept"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()  # the plan's order
    action = models.CharField(max_length=8, choices=Action.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    repository_id_ref = models.BigIntegerField(null=True)  # the repository's id then (it may go since)
    repository = models.CharField(max_length=512)
    digest = models.CharField(max_length=160)
    tags = models.JSONField(default=list)  # delete: every tag on the digest; keep: the one tag
    media_type = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=500)
    note = models.CharField(max_length=1000, blank=True)  # what happened when executing
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "position"]
        indexes = [models.Index(fields=["run", "action", "position"], name="retention_item_report")]

    def __str__(self) -> str:
        return f"{self.action} {self.repository}@{self.digest}"
