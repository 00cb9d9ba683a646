"""Users (admins only), the first admin's bootstrap, and application tokens."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny

from accounts.models import ApplicationToken, User
from accounts.services import (
    application_token_create,
    application_token_revoke,
    first_user_lock,
    user_create,
    user_delete,
    user_update,
)
from api.base import PortusAPIView
from api.errors import BadRequest, FeatureDisabled
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, errors, path_id, sorting, with_body
from api.serializers.users import (
    USER_SORT_FIELDS,
    ApplicationTokenCreatedSerializer,
    ApplicationTokenInput,
    ApplicationTokenSerializer,
    BootstrapInput,
    UserCreateInput,
    UserSerializer,
    UserUpdateInput,
    created_token,
    scope_accesses,
    users_queryset,
)
from namespaces import policy
from portus.options import option

TOKEN_SORT_FIELDS = {"id": "pk", "application": "application", "created_at": "created_at",
                     "last_used_at": "last_used_at", "expires_at": "expires_at"}
USER_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The user's id, or their email.")


def _password_errors_by_field(exc: DjangoValidationError) -> DjangoValidationError:
    """The password validators raise messages without a field: they are about `password`."""
    return exc if hasattr(exc, "error_dict") else DjangoValidationError({"password": exc.messages})


def user_by_id_or_email(ident: str) -> User:
    queryset = users_queryset()
    user = queryset.filter(pk=int(ident)).first() if ident.isdigit() and len(ident) <= 18 else None
    if user is None:
        user = queryset.filter(email=ident).first()
    if user is None:
        raise NotFound()
    return user


class UsersView(PortusAPIView):
    @extend_schema(tags=["users"], summary="List users (admins)",
                   parameters=[*PAGING_PARAMETERS, *sorting(USER_SORT_FIELDS)],
                   responses={200: UserSerializer(many=True), **authed(400, 403)}, extensions={PAGINATED: True})
    def get(self, request):
        self.allow(policy.can_manage_users(request.user))
        return self.present_page(UserSerializer, users_queryset(), sort_fields=USER_SORT_FIELDS)

    @extend_schema(tags=["users"], summary="Create a user (admins)", request=UserCreateInput,
                   responses={201: UserSerializer, **with_body(403, 422)})
    def post(self, request):
        self.allow(policy.can_manage_users(request.user))
        data = self.read(UserCreateInput)["user"]
        try:
            user = user_create(username=data["username"], email=data.get("email") or None,
                               password=data.get("password") or None, bot=data["bot"],
                               display_name=data["display_name"], by=request.user)
        except DjangoValidationError as exc:
            raise _password_errors_by_field(exc) from exc
        return self.present(UserSerializer, users_queryset().get(pk=user.pk), status_code=201)


class UserView(PortusAPIView):
    @extend_schema(tags=["users"], summary="Show a user by id or email (admins)", parameters=[USER_ID],
                   responses={200: UserSerializer, **authed(400, 403, 404)})
    def get(self, request, id: str):
        self.allow(policy.can_manage_users(request.user))
        return self.present(UserSerializer, user_by_id_or_email(id))

    @extend_schema(tags=["users"], summary="Update a user (admins)", parameters=[USER_ID], request=UserUpdateInput,
                   responses={200: UserSerializer, **with_body(403, 404, 422)})
    def put(self, request, id: str):
        self.allow(policy.can_manage_users(request.user))
        user = user_by_id_or_email(id)
        data = self.read(UserUpdateInput)["user"]
        if "username" in data and data["username"] != user.username:
            # The user name is also the personal namespace's name, under which the registry stores images.
            raise DjangoValidationError({"username": "A user name cannot be changed."})
        email = data.get("email")
        if "email" in data and email is None:
            email = ""
        try:
            user_update(user=user, by=request.user, email=email, display_name=data.get("display_name"),
                        admin=data.get("admin"), enabled=data.get("enabled"), password=data.get("password"))
        except DjangoValidationError as exc:
            raise _password_errors_by_field(exc) from exc
        return self.present(UserSerializer, users_queryset().get(pk=user.pk))

    @extend_schema(tags=["users"], summary="Delete a user (admins)", parameters=[USER_ID],
                   responses={204: None, **authed(400, 403, 404, 422)})
    def delete(self, request, id: str):
        self.allow(policy.can_manage_users(request.user))
        user_delete(user=user_by_id_or_email(id), by=request.user)
        return self.no_content()


class BootstrapView(PortusAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["users"], summary="Create the first admin, with an application token",
                   description="Only while no user exists besides the internal `portus` account; 405 when "
                               "first_user_admin is off. Answers an application token named `bootstrap`.",
                   auth=[], request=BootstrapInput,
                   responses={201: ApplicationTokenCreatedSerializer, **errors(400, 405, 413, 422)})
    def post(self, request):
        if not option("first_user_admin.enabled"):
            raise FeatureDisabled()
        data = self.read(BootstrapInput)["user"]
        with transaction.atomic():
            # The web sign-up takes the same lock: only one of them makes the first admin.
            if not first_user_lock():
                raise BadRequest("You can only use this when there are no users on the system.")
            try:
                user = user_create(username=data["username"], email=data["email"], password=data["password"],
                                   display_name=data["display_name"], admin=True)
            except DjangoValidationError as exc:
                raise _password_errors_by_field(exc) from exc
            token, plain = application_token_create(user=user, application="bootstrap", by=user)
        return self.present(ApplicationTokenCreatedSerializer, created_token(token, plain), status_code=201)


def token_owner(request, pk: int) -> User:
    """The user whose tokens are asked for; non-admins get 403 for anyone but themselves."""
    owner = User.objects.select_related("robot_namespace__team").filter(pk=pk).first()
    if owner is None:
        raise NotFound() if policy.is_admin(request.user) else PermissionDenied()
    if not policy.can_manage_tokens_of(request.user, owner):
        raise PermissionDenied()
    return owner


_REGISTRY_RANK = {"none": 0, "pull": 1, "push": 2}
_API_RANK = {"none": 0, "read": 1, "write": 2}


def _no_wider_than_caller(caller_token, registry_access: str, api_access: str, expires_at) -> None:
    """A token made with a token gets no more than that token has: a stolen pull-only token with API
    write access cannot mint itself push rights, nor an expiring one a token that never expires."""
    if not isinstance(caller_token, ApplicationToken):
        return
    if (_REGISTRY_RANK[registry_access] > _REGISTRY_RANK[caller_token.registry_access]
            or _API_RANK[api_access] > _API_RANK[caller_token.api_access]):
        raise PermissionDenied("A token cannot create a token with wider scopes than its own.")
    if caller_token.expires_at is not None and (expires_at is None or expires_at > caller_token.expires_at):
        raise PermissionDenied("A token cannot create a token that outlives it: choose fewer days.")


class UserTokensView(PortusAPIView):
    @extend_schema(tags=["application_tokens"], summary="List a user's or robot's application tokens",
                   description="One's own; any user's for an admin; a namespace robot's for whoever manages "
                               "its namespace.",
                   parameters=[*PAGING_PARAMETERS, *sorting(TOKEN_SORT_FIELDS)],
                   responses={200: ApplicationTokenSerializer(many=True), **authed(400, 403, 404)},
                   extensions={PAGINATED: True})
    def get(self, request, id: int):
        owner = token_owner(request, id)
        return self.present_page(ApplicationTokenSerializer,
                                 ApplicationToken.objects.filter(user=owner).select_related("created_by"),
                                 sort_fields=TOKEN_SORT_FIELDS)

    @extend_schema(tags=["application_tokens"], summary="Create an application token; its secret is shown once",
                   request=ApplicationTokenInput,
                   responses={201: ApplicationTokenCreatedSerializer, **with_body(403, 404, 422)})
    def post(self, request, id: int):
        owner = token_owner(request, id)
        data = self.read(ApplicationTokenInput)
        registry_access, api_access = data.get("scopes") or scope_accesses(None)
        days = data.get("expires_in_days")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        _no_wider_than_caller(request.auth, registry_access, api_access, expires_at)
        token, plain = application_token_create(
            user=owner, application=data["application"], by=request.user,
            registry_access=registry_access, api_access=api_access, expires_at=expires_at)
        return self.present(ApplicationTokenCreatedSerializer, created_token(token, plain), status_code=201)


class ApplicationTokenView(PortusAPIView):
    @extend_schema(tags=["application_tokens"], summary="Revoke an application token",
                   parameters=[path_id("id")],
                   responses={204: None, **authed(404)})
    def delete(self, request, id: int):
        token = ApplicationToken.objects.select_related("user").filter(pk=id).first()
        # Someone else's token: its existence is not the caller's business.
        if token is None or not policy.can_manage_tokens_of(request.user, token.user):
            raise NotFound()
        application_token_revoke(token=token, by=request.user)
        return self.no_content()
