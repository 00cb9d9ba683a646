"""Teams and their members."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.common import MarkdownField, count_of
from api.serializers.users import UserSerializer, display_username
from namespaces import policy
from namespaces.models import Namespace
from teams.models import Role, Team, TeamMember

TEAM_SORT_FIELDS = {"id": "pk", "name": "name", "created_at": "created_at", "updated_at": "updated_at"}
MEMBER_SORT_FIELDS = {"id": "pk", "username": "username", "role": "member_role"}


def teams_queryset(queryset=None):
    queryset = Team.objects.all() if queryset is None else queryset
    return queryset.annotate(
        users_count=count_of(TeamMember.objects.filter(user__enabled=True), "team"),
        namespaces_count=count_of(Namespace.objects.all(), "team"),
    )


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    description = serializers.CharField(read_only=True)
    description_md = MarkdownField(source="description")
    hidden = serializers.BooleanField(read_only=True)
    role = serializers.SerializerMethodField(help_text="The caller's role in the team (Owner, Contributor, "
                                                       "Viewer), or null.")
    updatable = serializers.SerializerMethodField()
    destroyable = serializers.SerializerMethodField()
    users_count = serializers.IntegerField(read_only=True, help_text="Enabled members.")
    namespaces_count = serializers.IntegerField(read_only=True)

    class Meta:
        ref_name = "Team"

    def get_role(self, team: Team) -> str | None:
        role = policy.team_role(self.context["user"], team.pk)
        return Role(role).label if role else None

    def get_updatable(self, team: Team) -> bool:
        return policy.can_manage_team(self.context["user"], team)

    def get_destroyable(self, team: Team) -> bool:
        return policy.can_manage_team(self.context["user"], team)


class TeamCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    owner_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                        help_text="Admins only: who owns the new team (default: the caller).")

    class Meta:
        ref_name = "TeamCreate"


class TeamUpdateFields(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "TeamUpdateFields"


class TeamUpdateInput(serializers.Serializer):
    team = TeamUpdateFields()

    class Meta:
        ref_name = "TeamUpdate"


class TeamMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    team_id = serializers.IntegerField(read_only=True)
    user_id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    display_name = serializers.SerializerMethodField()
    admin = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField(help_text="Whether this member is the caller.")

    class Meta:
        ref_name = "TeamMember"

    def get_display_name(self, member: TeamMember) -> str:
        return display_username(member.user)

    def get_admin(self, member: TeamMember) -> bool:
        return member.user.admin

    def get_current(self, member: TeamMember) -> bool:
        return member.user_id == self.context["user"].pk


class TeamMemberUserSerializer(UserSerializer):
    """A member as Portus listed them (the user), plus the membership's id and role."""

    member_id = serializers.IntegerField(read_only=True, help_text="Use it in /teams/{id}/members/{member_id}.")
    role = serializers.ChoiceField(choices=Role.choices, read_only=True, source="member_role")

    class Meta:
        ref_name = "TeamMemberUser"


class MemberCreateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    user = serializers.CharField(max_length=150, help_text="The user name.")

    class Meta:
        ref_name = "TeamMemberCreate"


class MemberUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        ref_name = "TeamMemberUpdate"
