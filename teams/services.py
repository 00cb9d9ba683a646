"""Writes that touch teams and their members."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from activities.services import activity_record
from namespaces import policy
from teams.models import Role, Team, TeamMember


def validate_team_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "A team name is 1 to 100 characters long."})
    if "/" in name or any(ord(c) < 32 for c in name):
        raise ValidationError({"name": "A team name may not contain '/' or control characters."})
    return name


def _may_join(user) -> None:
    """The internal `portus` account reads the registry for every team: a membership would only confuse.

    Bots may join (that is how a CI bot gets push rights); the internal account may not, through any door.
    """
    if user.is_internal:
        raise ValidationError({"user": "The internal portus account cannot be a team member."})


@transaction.atomic
def team_create(*, name: str, owner, description: str = "", by=None) -> Team:
    name = validate_team_name(name)
    _may_join(owner)
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A team with this name already exists."})
    team = Team.objects.create(name=name, description=description)
    TeamMember.objects.create(team=team, user=owner, role=Role.OWNER)
    policy.forget_roles(owner)
    activity_record(key="team.create", owner=by or owner, target=team, team=team)
    return team


@transaction.atomic
def team_update(*, team: Team, by, name: str | None = None, description: str | None = None) -> Team:
    changes = {}
    if name is not None and name.strip() != team.name:
        name = validate_team_name(name)
        if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            raise ValidationError({"name": "A team with this name already exists."})
        changes["name"] = [team.name, name]
        team.name = name
    if description is not None and description != team.description:
        changes["description"] = True
        team.description = description
    if changes:
        team.save()
        activity_record(key="team.change_team_description" if "name" not in changes else "team.change_team_name",
                        owner=by, target=team, team=team, parameters={"changes": list(changes)})
    return team


def _owners_left(team: Team, *, excluding: TeamMember) -> bool:
    return team.members.filter(role=Role.OWNER).exclude(pk=excluding.pk).exists()


@transaction.atomic
def team_member_add(*, team: Team, user, role: str, by) -> TeamMember:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}: use owner, contributor or viewer."})
    if team.hidden:
        raise ValidationError({"team": "Personal and global teams have no members to manage."})
    _may_join(user)
    if TeamMember.objects.filter(team=team, user=user).exists():
        raise ValidationError({"user": f"{user.username} is already a member of this team."})
    member = TeamMember.objects.create(team=team, user=user, role=role)
    policy.forget_roles(user)
    activity_record(key="team.add_member", owner=by, target=team, team=team,
                    parameters={"user": user.username, "role": role})
    return member


@transaction.atomic
def team_member_change_role(*, member: TeamMember, role: str, by) -> TeamMember:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}: use owner, contributor or viewer."})
    if member.role == Role.OWNER and role != Role.OWNER and not _owners_left(member.team, excluding=member):
        raise ValidationError({"role": "A team needs at least one owner."})
    old = member.role
    member.role = role
    member.save(update_fields=["role", "updated_at"])
    policy.forget_roles(member.user)
    activity_record(key="team.change_member_role", owner=by, target=member.team, team=member.team,
                    parameters={"user": member.user.username, "old_role": old, "new_role": role})
    return member


@transaction.atomic
def team_member_remove(*, member: TeamMember, by) -> None:
    if member.role == Role.OWNER and not _owners_left(member.team, excluding=member):
        raise ValidationError({"member": "A team needs at least one owner."})
    team, username = member.team, member.user.username
    member.delete()
    policy.forget_roles(member.user)
    activity_record(key="team.remove_member", owner=by, target=team, team=team, parameters={"user": username})


@transaction.atomic
def team_delete(*, team: Team, by, new_team: Team | None = None) -> None:
    """Deletes a team; its namespaces move to `new_team` (required when it has any).

    Moving namespaces into a team is creating them there: `by` needs the create-namespace right on
    `new_team` (as for PUT /namespaces and the UI's list of targets), not mere membership.
    """
    if team.hidden:
        raise ValidationError({"team": "Personal and global teams cannot be deleted."})
    namespaces = team.namespaces.all()
    if namespaces.exists():
        if new_team is None:
            raise ValidationError({"new_team": "This team owns namespaces: name the team that takes them over."})
        if new_team.pk == team.pk:
            raise ValidationError({"new_team": "The namespaces must move to another team."})
        if not policy.can_create_namespace(by, new_team):
            raise PermissionDenied(f"You may not create namespaces in team {new_team.name}, so this team's "
                                   "namespaces cannot move there.")
        namespaces.update(team=new_team)
    activity_record(key="team.delete", owner=by, target_type="team", target_name=team.name,
                    team=new_team, parameters={"new_team": new_team.name if new_team else None})
    team.delete()
