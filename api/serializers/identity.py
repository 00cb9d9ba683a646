"""Robots and per-repository grants."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from accounts.robots import robot_short_name
from grants.models import Permission, RepositoryGrant


class RobotSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True, help_text="The login name: robot$<name> or "
                                                                "robot$<namespace>+<name>.")
    name = serializers.SerializerMethodField()
    description = serializers.CharField(source="display_name", read_only=True)
    namespace_id = serializers.IntegerField(source="robot_namespace_id", read_only=True, allow_null=True,
                                            help_text="The owning namespace; null for an instance robot.")
    enabled = serializers.BooleanField(read_only=True)
    active = serializers.SerializerMethodField(help_text="Enabled, and its namespace stands.")
    created_at = serializers.DateTimeField(source="date_joined", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        ref_name = "Robot"

    def get_name(self, robot: User) -> str:
        return robot_short_name(robot)

    def get_active(self, robot: User) -> bool:
        from namespaces import policy

        return policy.is_active(robot)


class RobotCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    namespace_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10**18 - 1,
                                            help_text="Owning namespace; absent or null: an instance robot "
                                                      "(admins only).")

    class Meta:
        ref_name = "RobotCreate"


class RobotUpdateInput(serializers.Serializer):
    enabled = serializers.BooleanField()

    class Meta:
        ref_name = "RobotUpdate"


class GrantSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    namespace_id = serializers.IntegerField(read_only=True)
    pattern = serializers.CharField(read_only=True, help_text="A repository's name in the namespace, or a glob.")
    permission = serializers.ChoiceField(choices=Permission.choices, read_only=True)
    grantee_kind = serializers.ChoiceField(choices=["user", "robot", "team"], read_only=True)
    user_id = serializers.IntegerField(read_only=True, allow_null=True)
    team_id = serializers.IntegerField(read_only=True, allow_null=True)
    grantee = serializers.CharField(source="grantee_name", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        ref_name = "RepositoryGrant"


class GrantCreateInput(serializers.Serializer):
    pattern = serializers.CharField(max_length=255, help_text="`app`, `tools/lint`, or a glob: `app/*`, `web-?`.")
    permission = serializers.ChoiceField(choices=Permission.choices)
    user = serializers.CharField(max_length=150, required=False,
                                 help_text="The user's or robot's login name (give user or team).")
    team = serializers.CharField(max_length=255, required=False, help_text="The team's name.")

    class Meta:
        ref_name = "RepositoryGrantCreate"

    def validate(self, attrs):
        if ("user" in attrs) == ("team" in attrs):
            raise serializers.ValidationError({"user": ["Give either user or team."]})
        return attrs


class GrantUpdateInput(serializers.Serializer):
    permission = serializers.ChoiceField(choices=Permission.choices)

    class Meta:
        ref_name = "RepositoryGrantUpdate"


def grants_queryset():
    return RepositoryGrant.objects.select_related("user", "team", "created_by", "namespace")


def robots_queryset():
    return User.objects.filter(bot=True, username__startswith="robot$").select_related(
        "robot_namespace", "robot_namespace__team", "created_by")
