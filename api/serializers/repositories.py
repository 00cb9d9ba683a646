"""Repositories, tags and comments."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Value
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import MarkdownField, ReferenceSerializer
from api.serializers.namespaces import namespace_name
from namespaces import policy
from namespaces.models import Comment, Repository, Star, Tag
from web.templatetags.portus import human_size

REPOSITORY_SORT_FIELDS = {"id": "pk", "name": "name", "created_at": "created_at", "updated_at": "updated_at",
                          "stars": "stars_count", "tags_count": "tags_count", "pushed_at": "pushed_at"}
TAG_SORT_FIELDS = {"id": "pk", "name": "name", "created_at": "created_at", "updated_at": "updated_at",
                   "size": "size", "digest": "digest", "pushed_at": "pushed_at"}
COMMENT_SORT_FIELDS = {"id": "pk", "created_at": "created_at", "updated_at": "updated_at"}


def repositories_queryset(queryset, user):
    """Repositories with their namespace, registry and team, and whether `user` starred each."""
    queryset = queryset.select_related("namespace", "namespace__registry", "namespace__team")
    if user is not None and user.is_authenticated:
        starred = Exists(Star.objects.filter(repository=OuterRef("pk"), user_id=user.pk))
    else:
        starred = Value(False)
    return queryset.annotate(starred=starred)


def tags_queryset(queryset=None):
    queryset = Tag.objects.all() if queryset is None else queryset
    return queryset.select_related("author")


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        ref_name = "Author"


class PlatformSerializer(serializers.Serializer):
    os = serializers.CharField(read_only=True)
    architecture = serializers.CharField(read_only=True)
    variant = serializers.CharField(read_only=True, required=False, allow_blank=True, allow_null=True)
    digest = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)

    class Meta:
        ref_name = "Platform"


class TagSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    author = serializers.SerializerMethodField(help_text="Who pushed it.")
    digest = serializers.CharField(read_only=True)
    image_id = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="Compressed size in bytes.")
    size_human = serializers.SerializerMethodField()
    media_type = serializers.CharField(read_only=True, help_text="Media type of the manifest or image index.")
    platforms = PlatformSerializer(many=True, read_only=True,
                                   help_text="For an image index: each platform's image; empty otherwise.")
    pushed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    pulled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    pull_count = serializers.IntegerField(read_only=True)
    scanned = serializers.SerializerMethodField(help_text="0: not scanned (no security scanner is configured).")
    vulnerabilities = serializers.SerializerMethodField(help_text="null: no security scanner is configured.")

    class Meta:
        ref_name = "Tag"

    @extend_schema_field(AuthorSerializer)
    def get_author(self, tag: Tag) -> dict:
        author = tag.author
        return {"id": author.pk if author else None, "name": author.username if author else None}

    def get_size_human(self, tag: Tag) -> str:
        return human_size(tag.size)

    def get_scanned(self, tag: Tag) -> int:
        return 0

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
    def get_vulnerabilities(self, tag: Tag) -> None:
        return None


class RepositorySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    description = serializers.CharField(read_only=True)
    description_md = MarkdownField(source="description")
    namespace = serializers.SerializerMethodField()
    registry_hostname = serializers.SerializerMethodField(help_text="The host clients pull from.")
    stars = serializers.IntegerField(source="stars_count", read_only=True)
    tags_count = serializers.IntegerField(read_only=True)
    starred = serializers.BooleanField(read_only=True, help_text="Whether the caller starred it.")
    destroyable = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Repository"

    @extend_schema_field(ReferenceSerializer)
    def get_namespace(self, repository: Repository) -> dict:
        return {"id": repository.namespace_id, "name": namespace_name(repository.namespace)}

    def get_registry_hostname(self, repository: Repository) -> str:
        return repository.namespace.registry.reference_host

    def get_destroyable(self, repository: Repository) -> bool:
        return policy.can_delete_repository(self.context["user"], repository.namespace, repository.name)


class RepositoryDetailSerializer(RepositorySerializer):
    # The view sets `tag_groups` on the repository (one query for all its tags).
    tags = serializers.ListField(child=serializers.ListField(child=TagSerializer()), source="tag_groups",
                                 read_only=True, help_text="The tags grouped by digest, newest push first.")

    class Meta:
        ref_name = "RepositoryDetail"


class RepositoryUpdateFields(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "RepositoryUpdateFields"


class RepositoryUpdateInput(serializers.Serializer):
    repository = RepositoryUpdateFields()

    class Meta:
        ref_name = "RepositoryUpdate"


class CommentAuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True, allow_null=True)
    username = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        ref_name = "CommentAuthor"


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    repository_id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    body = serializers.CharField(read_only=True)
    body_md = MarkdownField(source="body")
    author = serializers.SerializerMethodField()
    destroyable = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Comment"

    @extend_schema_field(CommentAuthorSerializer)
    def get_author(self, comment: Comment) -> dict:
        author = comment.author
        name = author.username if author else None
        return {"id": author.pk if author else None, "name": name, "username": name}

    def get_destroyable(self, comment: Comment) -> bool:
        return policy.can_destroy_comment(self.context["user"], comment)


class CommentFields(serializers.Serializer):
    body = serializers.CharField(max_length=10000)

    class Meta:
        ref_name = "CommentFields"


class CommentCreateInput(serializers.Serializer):
    comment = CommentFields()

    class Meta:
        ref_name = "CommentCreate"
