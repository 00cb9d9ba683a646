"""Namespaces, repositories, tags, stars and comments: the browsable copy of what the registry holds."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from portus.names import validate_component, validate_repository_name


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"  # team members only
    PROTECTED = "protected", "Protected"  # any signed-in user may pull
    PUBLIC = "public", "Public"  # anyone, also anonymously


class NamespaceQuerySet(models.QuerySet):
    def visible_to(self, user) -> NamespaceQuerySet:
        """The namespaces `user` may open (policy.can_see_namespace): those they may pull from, and those
        holding repositories granted to them (whose other repositories they do not see)."""
        from namespaces import policy

        return self.filter(policy.visible_namespaces_q(user))


class Namespace(models.Model):
    registry = models.ForeignKey("registries.Registry", on_delete=models.CASCADE, related_name="namespaces")
    # Empty for a registry's global namespace (images named without a slash).
    name = models.CharField(max_length=255, blank=True)
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="namespaces")
    description = models.TextField(blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    is_global = models.BooleanField(default=False)
    # Set when the namespace was deleted (or its user was) while images may remain under its name: it is kept,
    # in the registry's hidden global team, pullable by admins only, and its name stays reserved until an admin
    # releases or purges it (namespaces/retirement.py).
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who had it: "user ivan", "team Developers" (the user or team may be gone).
    former_owner = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NamespaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["registry", "name"], name="unique_namespace_per_registry"),
            models.UniqueConstraint(
                fields=["registry"], condition=Q(is_global=True), name="one_global_namespace_per_registry"
            ),
        ]
        indexes = [models.Index(fields=["team"]), models.Index(fields=["visibility"])]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        if not self.is_global:
            validate_component(self.name)

    @property
    def display_name(self) -> str:
        return self.name if not self.is_global else f"{self.registry.reference_host} (global)"

    @property
    def is_personal(self) -> bool:
        """The user's own namespace, named after them. An admin's push to a new name creates a namespace in
        the admin's personal team too (namespace_for_push): that one is not personal, and may be moved to a
        team, renamed or deleted like a team's."""
        return self.team.personal_of_id is not None and self.team.name == f"personal/{self.name}"

    @property
    def awaits_team(self) -> bool:
        """In no team yet: created by an admin's push to a new name (held in the admin's personal team), or
        found in the registry under a name nobody claimed (held in the registry's hidden team)."""
        return self.team.hidden and not self.is_global and not self.is_personal and not self.is_retired

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class RepositoryQuerySet(models.QuerySet):
    def visible_to(self, user) -> RepositoryQuerySet:
        """The repositories `user` may pull (policy.can_pull_repository): by namespace, or granted."""
        from namespaces import policy

        return self.filter(policy.visible_repositories_q(user))

    def with_namespace(self) -> RepositoryQuerySet:
        return self.select_related("namespace", "namespace__registry")


class Repository(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="repositories")
    # The part after the namespace; may contain slashes (team/group/app).
    name = models.CharField(max_length=255, validators=[validate_repository_name])
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept up to date by the services that change tags, so lists need no per-row query.
    tags_count = models.PositiveIntegerField(default=0)
    pushed_at = models.DateTimeField(null=True, blank=True)
    stars_count = models.PositiveIntegerField(default=0)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["namespace__name", "name"]
        verbose_name_plural = "repositories"
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="unique_repository")]
        indexes = [models.Index(fields=["-pushed_at"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        """The name the registry knows (`team/app`, or `app` in the global namespace)."""
        return self.name if self.namespace.is_global else f"{self.namespace.name}/{self.name}"

    @property
    def pull_reference(self) -> str:
        return f"{self.namespace.registry.reference_host}/{self.full_name}"


class Tag(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    digest = models.CharField(max_length=160, db_index=True)
    media_type = models.CharField(max_length=255, blank=True)
    # The config blob's digest (Docker's "image id").
    image_id = models.CharField(max_length=160, blank=True)
    # Compressed size: config plus layers; for an index, the sum over its platforms.
    size = models.BigIntegerField(default=0)
    # For an image index: [{"os", "architecture", "variant", "digest", "size"}, …].
    platforms = models.JSONField(default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pushed_at = models.DateTimeField(null=True, blank=True)
    pulled_at = models.DateTimeField(null=True, blank=True)
    pull_count = models.PositiveBigIntegerField(default=0)
    # Time of the last registry event applied to this tag; older events are not applied over it.
    event_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["repository_id", "name"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="unique_tag")]
        indexes = [models.Index(fields=["repository", "digest"]), models.Index(fields=["-pushed_at"])]

    def __str__(self) -> str:
        return f"{self.repository}:{self.name}"

    @property
    def is_index(self) -> bool:
        return bool(self.platforms)


class Tombstone(models.Model):
    """Remembers a delete, so that an older push processed after it does not bring the tag back."""

    class Kind(models.TextChoices):
        TAG = "tag"
        DIGEST = "digest"

    registry = models.ForeignKey("registries.Registry", on_delete=models.CASCADE)
    repository = models.CharField(max_length=512)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=160)
    event_time = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registry", "repository", "kind", "value"], name="unique_tombstone")
        ]


class Star(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stars")
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="stars")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "repository"], name="unique_star")]


class Comment(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["repository", "created_at"])]
