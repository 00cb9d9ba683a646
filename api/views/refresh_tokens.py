"""A user's signed-in clients (the token endpoint's refresh tokens): list and revoke."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound

from accounts.models import RefreshToken
from accounts.services import refresh_token_revoke
from api.base import PortusAPIView
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting
from api.serializers.users import RefreshTokenSerializer
from api.views.users import token_owner
from namespaces import policy

REFRESH_TOKEN_SORT_FIELDS = {"id": "pk", "created_at": "created_at", "last_used_at": "last_used_at",
                             "client_id": "client_id"}


class UserRefreshTokensView(PortusAPIView):
    @extend_schema(tags=["refresh_tokens"], summary="List a user's signed-in clients (theirs, or an admin)",
                   description="The refresh tokens that `docker login` and other clients keep, still valid: "
                               "not revoked, not expired, and their password or application token unchanged.",
                   parameters=[*PAGING_PARAMETERS, *sorting(REFRESH_TOKEN_SORT_FIELDS)],
                   responses={200: RefreshTokenSerializer(many=True), **authed(400, 403, 404)},
                   extensions={PAGINATED: True})
    def get(self, request, id: int):
        owner = token_owner(request, id)
        queryset = RefreshToken.objects.of_user(owner).select_related("application_token")
        return self.present_page(RefreshTokenSerializer, queryset, sort_fields=REFRESH_TOKEN_SORT_FIELDS)


class RefreshTokenView(PortusAPIView):
    @extend_schema(tags=["refresh_tokens"], summary="Revoke a refresh token (sign a client out)",
                   description="Its next token request is refused; the client has to log in again.",
                   parameters=[path_id("id")], responses={204: None, **authed(404)})
    def delete(self, request, id: int):
        token = RefreshToken.objects.select_related("user").filter(pk=id).first()
        # Someone else's token: its existence is not the caller's business.
        if token is None or not policy.can_manage_tokens_of(request.user, token.user):
            raise NotFound()
        refresh_token_revoke(token=token, by=request.user)
        return self.no_content()
