"""Tags across repositories, and the vulnerability re-scan endpoints (no scanner here: 405)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema

from api.base import PortusAPIView
from api.errors import FeatureDisabled, Unprocessable
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting
from api.serializers.repositories import TAG_SORT_FIELDS, TagSerializer, tags_queryset
from api.views.repositories import _deletion
from images.artifacts import ordinary_tags
from namespaces import policy
from namespaces.models import Repository, Tag
from portus.options import option

TAG_ID = path_id("id", "Tag id.")
NO_SCANNER = "No security scanner is configured on this instance."
RESCHEDULED = OpenApiResponse(description="Scheduled (with a security scanner; this instance has none: 405).")


class TagsView(PortusAPIView):
    @extend_schema(tags=["tags"], summary="List every tag (admins)",
                   parameters=[*PAGING_PARAMETERS, *sorting(TAG_SORT_FIELDS)],
                   responses={200: TagSerializer(many=True), **authed(400, 403)}, extensions={PAGINATED: True})
    def get(self, request):
        self.allow(policy.is_admin(request.user))
        return self.present_page(TagSerializer, tags_queryset(ordinary_tags(Tag.objects.all())),
                                 sort_fields=TAG_SORT_FIELDS)


class TagView(PortusAPIView):
    def tag(self, pk: int) -> Tag:
        visible = Repository.objects.visible_to(self.request.user)
        tags = tags_queryset(Tag.objects.filter(repository__in=visible)).select_related(
            "repository__namespace__team", "repository__namespace__registry")
        return self.found(tags, pk=pk)

    @extend_schema(tags=["tags"], summary="Show a tag", parameters=[TAG_ID], responses={200: TagSerializer,
                                                                                      **authed(404)})
    def get(self, request, id: int):
        return self.present(TagSerializer, self.tag(id))

    @extend_schema(tags=["tags"], summary="Delete a tag's manifest in the registry, and every tag on it",
                   description="The registry deletes manifests, not tags: every tag of the repository on the same "
                               "digest goes too. 405 unless delete.enabled; 422 when the registry refuses.",
                   parameters=[TAG_ID], responses={204: None, **authed(403, 404, 405, 422)})
    def delete(self, request, id: int):
        if not option("delete.enabled"):
            raise FeatureDisabled()
        tag = self.tag(id)
        self.allow(policy.can_delete_repository(request.user, tag.repository.namespace, tag.repository.name))
        deletion = _deletion()
        try:
            deletion.tag_destroy(tag=tag, by=request.user)
        except deletion.RegistryRefused as exc:
            raise Unprocessable(f"The registry did not delete the tag: {exc}") from exc
        return self.no_content()


class VulnerabilitiesView(PortusAPIView):
    @extend_schema(tags=["vulnerabilities"], summary="Re-scan every tag (admins; needs a security scanner)",
                   operation_id="vulnerabilities_rescan_all",
                   request=None, responses={202: RESCHEDULED, **authed(403, 405)})
    def post(self, request):
        self.allow(policy.is_admin(request.user))
        raise FeatureDisabled(NO_SCANNER)


class VulnerabilityView(PortusAPIView):
    @extend_schema(tags=["vulnerabilities"], summary="Re-scan one tag (admins; needs a security scanner)",
                   operation_id="vulnerabilities_rescan",
                   parameters=[TAG_ID], request=None, responses={202: RESCHEDULED, **authed(403, 404, 405)})
    def post(self, request, id: int):
        self.allow(policy.is_admin(request.user))
        self.found(Tag.objects.all(), pk=id)
        raise FeatureDisabled(NO_SCANNER)
