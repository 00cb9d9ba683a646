"""Robot accounts: bots with no password and no web login, only tokens, owned by a namespace or by the
instance.

Login names are fixed (Harbor's form): `robot$<name>` for an instance robot, `robot$<namespace>+<name>`
for a namespace's robot. The `$` can appear in no person's or bot's name (accounts.models.validate_username),
so the prefix alone tells a robot. A robot acts only through what it is given: a role in its namespace's
team, or per-repository grants (grants/); a namespace's robot never acts outside its namespace, and is
disabled while the namespace is retired and deleted with it (namespaces/policy.py).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import ROBOT_NAME_MAX, ROBOT_PREFIX, RefreshToken, User
from activities.services import activity_record
from portus.names import COMPONENT_RE

ROBOT_SHORT_NAME_MAX = 64


def robot_login_name(*, name: str, namespace=None) -> str:
    return f"{ROBOT_PREFIX}{name}" if namespace is None else f"{ROBOT_PREFIX}{namespace.name}+{name}"


def robot_short_name(robot: User) -> str:
    """The part the creator chose: `ci` of `robot$acme+ci`."""
    rest = robot.username[len(ROBOT_PREFIX):]
    return rest.partition("+")[2] if robot.robot_namespace_id else rest


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > ROBOT_SHORT_NAME_MAX or not COMPONENT_RE.match(name):
        raise ValidationError({"name": f"A robot's name is 1 to {ROBOT_SHORT_NAME_MAX} lowercase letters and digits, "
                                       "separated by single '.', '_', '__' or dashes."})
    return name


@transaction.atomic
def robot_create(*, name: str, by: User, namespace=None, description: str = "") -> User:
    """A robot of `namespace` (or of the instance). It has no password: give it a token
    (accounts.services.application_token_create) and a role or grants."""
    name = _check_name(name)
    if namespace is not None and (namespace.is_global or namespace.retired_at is not None):
        raise ValidationError({"namespace": "Robots belong to a namespace that stands and is not a global one."})
    username = robot_login_name(name=name, namespace=namespace)
    if len(username) > ROBOT_NAME_MAX:
        raise ValidationError({"name": f"The login name {username[:40]}… is longer than {ROBOT_NAME_MAX} characters."})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"name": f"There is already a robot {username}."})
    description = (description or "").strip()[:150]
    robot = User(username=username, email=None, bot=True, admin=False, display_name=description,
                 robot_namespace=namespace, created_by=by)
    robot.set_unusable_password()
    robot.save()
    activity_record(key="robot.create", owner=by, target=robot, namespace=namespace,
                    parameters={"robot": username})
    return robot


@transaction.atomic
def robot_set_enabled(*, robot: User, enabled: bool, by: User) -> User:
    if robot.enabled != enabled:
        robot.enabled = enabled
        robot.save(update_fields=["enabled", "updated_at"])
        activity_record(key="robot.enable" if enabled else "robot.disable", owner=by, target=robot,
                        namespace=robot.robot_namespace, parameters={"robot": robot.username})
        if not enabled:
            RefreshToken.objects.filter(user=robot).delete()
    return robot


@transaction.atomic
def robot_delete(*, robot: User, by: User) -> None:
    if not robot.is_robot:
        raise ValidationError({"robot": "Not a robot account."})
    activity_record(key="robot.delete", owner=by, target_type="user", target_name=robot.username,
                    namespace=robot.robot_namespace, parameters={"robot": robot.username})
    robot.delete()
