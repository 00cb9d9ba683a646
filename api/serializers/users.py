"""Users and application tokens."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from rest_framework import serializers

from accounts.models import ApplicationToken, User
from api.serializers.common import count_of
from namespaces.models import Namespace
from portus.options import option
from teams.models import TeamMember

USER_SORT_FIELDS = {
    "id": "pk", "username": "username", "email": "email", "created_at": "date_joined",
    "updated_at": "updated_at", "display_name": "display_name", "admin": "admin", "enabled": "enabled",
    "bot": "bot", "current_sign_in_at": "current_sign_in_at", "last_sign_in_at": "last_login",
}


def users_queryset(queryset=None, *, ref: str = "pk"):
    """Users with what the entity shows computed in the same query (personal namespace, counts)."""
    queryset = User.objects.all() if queryset is None else queryset
    personal = Namespace.objects.filter(team__personal_of=OuterRef(ref)).order_by("registry_id").values("pk")[:1]
    return queryset.annotate(
        namespace_id=Subquery(personal),
        # Portus: the namespaces of every team the user is in (the personal one included).
        namespaces_count=count_of(Namespace.objects.all(), "team__members__user", ref=ref),
        teams_count=count_of(TeamMember.objects.filter(team__hidden=False), "user", ref=ref),
    )


def display_username(user: User) -> str:
    return user.display_name if option("display_name.enabled") and user.display_name else user.username


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True, allow_null=True)
    current_sign_in_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_sign_in_at = serializers.DateTimeField(source="last_login", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="date_joined", read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    admin = serializers.BooleanField(read_only=True)
    enabled = serializers.BooleanField(read_only=True)
    locked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    namespace_id = serializers.IntegerField(read_only=True, allow_null=True,
                                            help_text="The user's personal namespace (in the first registry).")
    display_name = serializers.CharField(read_only=True)
    bot = serializers.BooleanField(read_only=True)
    display_username = serializers.SerializerMethodField()
    namespaces_count = serializers.IntegerField(read_only=True)
    teams_count = serializers.IntegerField(read_only=True)

    class Meta:
        ref_name = "User"

    def get_display_username(self, user: User) -> str:
        return display_username(user)


class UserCreateFields(serializers.Serializer):
    username = serializers.CharField(max_length=64)
    email = serializers.EmailField(max_length=254, required=False, allow_null=True, allow_blank=True,
                                   help_text="Required, except for bots.")
    password = serializers.CharField(max_length=4096, required=False, allow_blank=True,
                                     help_text="Required, except for bots (which sign in with application tokens).")
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    bot = serializers.BooleanField(required=False, default=False)

    class Meta:
        ref_name = "UserCreateFields"

    def validate(self, attrs):
        if not attrs.get("bot"):
            missing = {name: ["This field is required."] for name in ("email", "password") if not attrs.get(name)}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class UserCreateInput(serializers.Serializer):
    user = UserCreateFields()

    class Meta:
        ref_name = "UserCreate"


class BootstrapFields(serializers.Serializer):
    username = serializers.CharField(max_length=64)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=4096)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "BootstrapFields"


class BootstrapInput(serializers.Serializer):
    user = BootstrapFields()

    class Meta:
        ref_name = "Bootstrap"


class UserUpdateFields(serializers.Serializer):
    username = serializers.CharField(max_length=64, required=False,
                                     help_text="User names cannot change: only the current one is accepted.")
    email = serializers.EmailField(max_length=254, required=False, allow_null=True, allow_blank=True)
    password = serializers.CharField(max_length=4096, required=False, allow_blank=True)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    admin = serializers.BooleanField(required=False)
    enabled = serializers.BooleanField(required=False)

    class Meta:
        ref_name = "UserUpdateFields"


class UserUpdateInput(serializers.Serializer):
    user = UserUpdateFields()

    class Meta:
        ref_name = "UserUpdate"


SCOPE_CHOICES = ["registry:pull", "registry:push", "api:read", "api:write"]


class ApplicationTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    application = serializers.CharField(read_only=True, help_text="The token's name.")
    prefix = serializers.CharField(read_only=True, help_text="The token's first characters, to recognise it.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPE_CHOICES), source="scope_names",
                                   read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                             help_text="Recorded at most once a minute.")
    last_used_from = serializers.CharField(read_only=True, allow_null=True, help_text="The address of that use.")

    class Meta:
        ref_name = "ApplicationToken"


class ApplicationTokenCreatedSerializer(ApplicationTokenSerializer):
    plain_token = serializers.CharField(read_only=True, help_text="The secret; shown this once only.")

    class Meta:
        ref_name = "ApplicationTokenCreated"


MAX_TOKEN_DAYS = 3650


class ApplicationTokenInput(serializers.Serializer):
    application = serializers.CharField(max_length=100, help_text="The token's name.")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES), required=False, max_length=4, allow_empty=False,
        help_text="What the token may do, at most (its user's role still decides): `registry:pull` or "
                  "`registry:push` (pull, push and delete), `api:read` (GET only) or `api:write`. "
                  "Default: registry:push and api:write.")
    expires_in_days = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                               max_value=MAX_TOKEN_DAYS,
                                               help_text="Days until it expires; absent or null: never.")

    class Meta:
        ref_name = "ApplicationTokenCreate"

    def validate_scopes(self, scopes):
        return scope_accesses(scopes)


def scope_accesses(scopes: list[str] | None) -> tuple[str, str]:
    """(registry access, API access) for a list of scope names; the widest of each kind wins."""
    if scopes is None:
        return "push", "write"
    registry = "push" if "registry:push" in scopes else "pull" if "registry:pull" in scopes else "none"
    api = "write" if "api:write" in scopes else "read" if "api:read" in scopes else "none"
    return registry, api


def created_token(token: ApplicationToken, plain: str) -> ApplicationToken:
    token.plain_token = plain
    return token


class RefreshTokenSerializer(serializers.Serializer):
    """A signed-in client: a refresh token of the token endpoint (its secret is never shown again)."""

    id = serializers.IntegerField(read_only=True)
    prefix = serializers.CharField(read_only=True, help_text="The token's first characters, to recognise it.")
    client_id = serializers.CharField(read_only=True, help_text="What the client called itself (docker, …).")
    service = serializers.CharField(read_only=True, help_text="The registry it was issued for.")
    minted_with = serializers.ChoiceField(choices=["password", "application_token"], read_only=True,
                                          help_text="The credential it signed in with; it ends with it.")
    application_token_id = serializers.IntegerField(read_only=True, allow_null=True)
    application = serializers.CharField(source="application_token.application", read_only=True, allow_null=True,
                                        default=None)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(source="ends_at", read_only=True,
                                           help_text="When it ends unless used before (each use extends it, "
                                                     "up to the configured maximum lifetime).")

    class Meta:
        ref_name = "RefreshToken"
