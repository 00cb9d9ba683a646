"""Repositories, their tags, comments and stars. A repository the caller may not pull is 404."""

from __future__ import annotations

from django.db.models import Max
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.serializers import ListSerializer

from api.base import PortusAPIView
from api.errors import FeatureDisabled, Unprocessable
from api.pagination import paginate_values
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting, with_body
from api.serializers.repositories import (
    COMMENT_SORT_FIELDS,
    REPOSITORY_SORT_FIELDS,
    TAG_SORT_FIELDS,
    CommentCreateInput,
    CommentSerializer,
    RepositoryDetailSerializer,
    RepositorySerializer,
    RepositoryUpdateInput,
    TagSerializer,
    repositories_queryset,
    tags_queryset,
)
from images.artifacts import ordinary_tags
from namespaces import policy, social
from namespaces.models import Comment, Repository, Tag
from namespaces.services import repository_update
from portus.options import option

REPOSITORY_ID = path_id("id", "Repository id.")


def digests_newest_first(repository: Repository) -> list[str]:
    """The repository's digests, the most recently pushed first (one query)."""
    rows = (ordinary_tags(Tag.objects.filter(repository=repository)).values("digest")
            .annotate(latest=Max(Coalesce("pushed_at", "created_at"))).order_by("-latest", "digest"))
    return [row["digest"] for row in rows]


def tag_groups(repository: Repository, digests: list[str]) -> list[list[Tag]]:
    """Tags grouped by digest, in the order of `digests`; each group by name (one query)."""
    groups: dict[str, list[Tag]] = {digest: [] for digest in digests}
    for tag in tags_queryset(ordinary_tags(Tag.objects.filter(repository=repository, digest__in=digests))
                             ).order_by("name"):
        groups[tag.digest].append(tag)
    return [groups[digest] for digest in digests]


def _deletion():
    """The deletion service (it calls the registry), imported when a delete is asked for."""
    from namespaces import deletion

    return deletion


class RepositoryMixin:
    def repository(self, pk: int) -> Repository:
        user = self.request.user
        return self.found(repositories_queryset(Repository.objects.visible_to(user), user), pk=pk)


class RepositoriesView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="List the repositories the caller may pull",
                   parameters=[*PAGING_PARAMETERS, *sorting(REPOSITORY_SORT_FIELDS)],
                   responses={200: RepositorySerializer(many=True), **authed(400)}, extensions={PAGINATED: True})
    def get(self, request):
        # Filtered on the repository's own columns, so that a deep page walks an index (policy).
        visible = Repository.objects.filter(policy.walkable_repositories_q(request.user))
        repositories = repositories_queryset(visible, request.user)
        return self.present_page(RepositorySerializer, repositories, sort_fields=REPOSITORY_SORT_FIELDS)


class RepositoryView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="Show a repository, with its newest tags grouped by digest",
                   description="`tags` holds at most pagination.max_per_page groups; "
                               "/repositories/{id}/tags/grouped pages through all of them.",
                   parameters=[REPOSITORY_ID], responses={200: RepositoryDetailSerializer, **authed(404)})
    def get(self, request, id: int):
        repository = self.repository(id)
        digests = digests_newest_first(repository)[: int(option("pagination.max_per_page"))]
        repository.tag_groups = tag_groups(repository, digests)
        return self.present(RepositoryDetailSerializer, repository)

    @extend_schema(tags=["repositories"], summary="Describe a repository (whoever may push to it)",
                   parameters=[REPOSITORY_ID], request=RepositoryUpdateInput,
                   responses={200: RepositorySerializer, **with_body(403, 404, 422)})
    def put(self, request, id: int):
        repository = self.repository(id)
        self.allow(policy.can_edit_repository(request.user, repository))
        data = self.read(RepositoryUpdateInput)["repository"]
        if "description" in data:
            repository_update(repository=repository, by=request.user, description=data["description"])
        return self.present(RepositorySerializer, self.repository(id))

    @extend_schema(tags=["repositories"], summary="Delete a repository: every manifest in the registry, then here",
                   description="405 unless delete.enabled; 422 when the registry refuses.",
                   parameters=[REPOSITORY_ID], responses={204: None, **authed(403, 404, 405, 422)})
    def delete(self, request, id: int):
        if not option("delete.enabled"):
            raise FeatureDisabled()
        repository = self.repository(id)
        self.allow(policy.can_delete_repository(request.user, repository.namespace, repository.name))
        deletion = _deletion()
        try:
            deletion.repository_destroy(repository=repository, by=request.user)
        except deletion.RegistryRefused as exc:
            raise Unprocessable(f"The registry did not delete the repository: {exc}") from exc
        return self.no_content()


class RepositoryTagsView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="List a repository's tags",
                   parameters=[REPOSITORY_ID, *PAGING_PARAMETERS, *sorting(TAG_SORT_FIELDS)],
                   responses={200: TagSerializer(many=True), **authed(400, 404)}, extensions={PAGINATED: True})
    def get(self, request, id: int):
        repository = self.repository(id)
        return self.present_page(TagSerializer, tags_queryset(ordinary_tags(Tag.objects.filter(repository=repository))),
                                 sort_fields=TAG_SORT_FIELDS)


class RepositoryGroupedTagsView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="List a repository's tags grouped by digest, newest first",
                   description="Each entry is the list of tags on one digest; pages count digests.",
                   parameters=[REPOSITORY_ID, *PAGING_PARAMETERS],
                   responses={200: ListSerializer(child=ListSerializer(child=TagSerializer())),
                              **authed(400, 404)},
                   extensions={PAGINATED: True})
    def get(self, request, id: int):
        repository = self.repository(id)
        page = paginate_values(request, digests_newest_first(repository))
        groups = tag_groups(repository, page.rows)
        data = [TagSerializer(group, many=True, context=self.context()).data for group in groups]
        return Response(data, headers=page.headers)


class RepositoryTagView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="Show one of a repository's tags",
                   parameters=[REPOSITORY_ID, path_id("tag_id")],
                   responses={200: TagSerializer, **authed(404)})
    def get(self, request, id: int, tag_id: int):
        repository = self.repository(id)
        return self.present(TagSerializer, self.found(tags_queryset(Tag.objects.filter(repository=repository)),
                                                      pk=tag_id))


class RepositoryCommentsView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="List a repository's comments",
                   parameters=[REPOSITORY_ID, *PAGING_PARAMETERS, *sorting(COMMENT_SORT_FIELDS)],
                   responses={200: CommentSerializer(many=True), **authed(400, 404)}, extensions={PAGINATED: True})
    def get(self, request, id: int):
        repository = self.repository(id)
        comments = Comment.objects.filter(repository=repository).select_related("author")
        return self.present_page(CommentSerializer, comments, sort_fields=COMMENT_SORT_FIELDS)

    @extend_schema(tags=["repositories"], summary="Comment on a repository", parameters=[REPOSITORY_ID],
                   request=CommentCreateInput, responses={201: CommentSerializer, **with_body(403, 404, 422)})
    def post(self, request, id: int):
        repository = self.repository(id)
        self.allow(policy.can_comment(request.user, repository))
        data = self.read(CommentCreateInput)["comment"]
        comment = social.comment_create(repository=repository, author=request.user, body=data["body"])
        return self.present(CommentSerializer, comment, status_code=201)


class RepositoryCommentView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="Delete a comment (its author, or an admin)",
                   parameters=[REPOSITORY_ID, path_id("comment_id")],
                   responses={204: None, **authed(403, 404)})
    def delete(self, request, id: int, comment_id: int):
        repository = self.repository(id)
        comment = self.found(Comment.objects.filter(repository=repository), pk=comment_id)
        self.allow(policy.can_destroy_comment(request.user, comment))
        social.comment_delete(comment=comment, by=request.user)
        return self.no_content()


class RepositoryStarView(RepositoryMixin, PortusAPIView):
    @extend_schema(tags=["repositories"], summary="Star the repository, or take the star back",
                   parameters=[REPOSITORY_ID], request=None, responses={200: RepositorySerializer, **authed(404)})
    def post(self, request, id: int):
        repository = self.repository(id)
        social.star_toggle(repository=repository, user=request.user)
        return self.present(RepositorySerializer, self.repository(id))
