"""Writes about users and their credentials."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import NotSupportedError, connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import (
    ROBOT_PREFIX,
    ApiAccess,
    ApplicationToken,
    RefreshToken,
    RegistryAccess,
    User,
    password_hash_fingerprint,
)
from activities.services import activity_record
from registries.models import Registry
from teams.models import Role, Team, TeamMember


def personal_team_name(username: str) -> str:
    # A slash keeps personal teams apart from the teams people name (which may not contain one).
    return f"personal/{username}"


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str | None,
    password: str | None,
    admin: bool = False,
    bot: bool = False,
    display_name: str = "",
    by: User | None = None,
    check_password: bool = True,
    allow_reserved_name: bool = False,
    internal: bool = False,
) -> User:
    """A user with their personal team and, in every registry, their personal namespace.

    Reserved names (portus.names.RESERVED_NAMES): the internal account's name is only ever given by
    api_account_ensure (`internal`). The others are refused to strangers (sign-up), and allowed where an
    admin decides: for an account an admin creates, for the first admin, and on the command line with
    `allow_reserved_name`. A name held by a retired namespace stays reserved until an admin releases it.
    """
    from namespaces import policy
    from namespaces.services import personal_namespace_ensure, reserved_namespace_error
    from portus.names import INTERNAL_NAME, is_reserved_name

    if username.startswith(ROBOT_PREFIX):
        raise ValidationError({"username": "Names starting with robot$ are robots' (accounts/robots.py)."})
    user = User(username=username, email=email or None, admin=admin, bot=bot, display_name=display_name)
    if password:
        if check_password:
            validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password", "last_login", "date_joined"])
    if not internal and is_reserved_name(username):
        if username.lower() == INTERNAL_NAME:
            raise ValidationError({"username": "This name is reserved for the service's internal account."})
        if not (admin or allow_reserved_name or policy.is_admin(by)):
            raise ValidationError({"username": "This name is reserved: choose another."})
    # The personal namespace carries the user's name: it must be free in every registry.
    taken = reserved_namespace_error(username)
    if taken:
        raise ValidationError({"username": taken})
    user.save()
    team = Team.objects.create(name=personal_team_name(username), hidden=True, personal_of=user)
    TeamMember.objects.create(team=team, user=user, role=Role.OWNER)
    personal_namespace_ensure(user=user)
    parameters = {"admin": admin, "bot": bot, **({"internal": True} if internal else {})}
    activity_record(key="user.create", owner=by or user, target=user, parameters=parameters)
    return user


# Any constant: the PostgreSQL advisory lock under which "is this instance still empty?" is asked.
_FIRST_USER_LOCK = 7_041_977


def first_user_lock() -> bool:
    """Takes the first-user lock until the caller's transaction ends; answers whether no account exists yet
    besides the internal `portus` one (so that the account about to be created may become the first admin).

    Every door that makes the first admin (the web sign-up, POST /api/v1/users/bootstrap) asks here and
    creates the account in the same transaction, so simultaneous sign-ups take turns and exactly one finds
    the instance empty. PostgreSQL: a transaction-level advisory lock, released at commit or rollback.
    SQLite: the settings begin every transaction IMMEDIATE, which serialises writers already; a connection
    configured otherwise takes the write lock here with an empty write, before it reads. Other databases
    are not supported (nothing here would make them take turns).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("first_user_lock() holds its lock until the transaction ends: call it inside one.")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FIRST_USER_LOCK])
        elif connection.vendor != "sqlite":
            raise NotSupportedError(f"first_user_lock: {connection.vendor} is not supported")
        elif connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE":
            cursor.execute(f"UPDATE {User._meta.db_table} SET id = id WHERE 0 = 1")  # noqa: S608 - no input
    return not User.objects.exclude(username=User.INTERNAL_USERNAME).exists()


def _other_admins(user: User):
    """Enabled human admins besides `user` (the internal account and bots do not count)."""
    return User.objects.filter(admin=True, enabled=True, bot=False).exclude(pk=user.pk)


@transaction.atomic
def user_update(
    *,
    user: User,
    by: User,
    email: str | None = None,
    display_name: str | None = None,
    admin: bool | None = None,
    enabled: bool | None = None,
    password: str | None = None,
    enabled_key: str | None = None,
) -> User:
    """Changes what is given, each change an activity (`enabled_key` names the one of an enabled change
    made by the service itself, e.g. "user.ldap_disable")."""
    changed = []
    if email is not None and email != user.email:
        user.email = email or None
        changed.append("email")
    if display_name is not None and display_name != user.display_name:
        user.display_name = display_name
        changed.append("display_name")
    if admin is not None and admin != user.admin:
        if not admin and user.admin and not _other_admins(user).exists():
            raise ValidationError({"admin": "This is the last enabled admin."})
        user.admin = admin
        changed.append("admin")
    if enabled is not None and enabled != user.enabled:
        if user.is_internal and not enabled:
            raise ValidationError({"enabled": "The internal portus account cannot be disabled."})
        if not enabled and user.admin and not _other_admins(user).exists():
            raise ValidationError({"enabled": "This is the last enabled admin."})
        user.enabled = enabled
        changed.append("enabled")
    if password:
        validate_password(password, user)
        user.set_password(password)
        changed.append("password")
    if changed:
        user.full_clean(exclude=["password", "last_login", "date_joined"])
        user.save()
        for field in changed:
            activity_record(key=f"user.change_{field}" if field != "enabled" else
                            (enabled_key or ("user.enabled" if user.enabled else "user.disabled")),
                            owner=by, target=user)
        if "enabled" in changed and not user.enabled:
            RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return user


@transaction.atomic
def user_unlock(*, user: User, by: User) -> User:
    User.objects.filter(pk=user.pk).update(locked_until=None, locked_at=None, failed_attempts=0)
    user.refresh_from_db()
    activity_record(key="user.unlock", owner=by, target=user)
    return user


def _check_deletable(user: User) -> None:
    if is_internal_account(user):
        raise ValidationError({"user": "The internal portus account cannot be deleted."})
    if user.admin and not _other_admins(user).exists():
        raise ValidationError({"user": "This is the last enabled admin."})
    for membership in TeamMember.objects.filter(user=user, role=Role.OWNER, team__hidden=False).select_related("team"):
        if not membership.team.members.filter(role=Role.OWNER).exclude(user=user).exists():
            raise ValidationError(
                {"user": f"{user.username} is the only owner of team {membership.team.name}: "
                         "give the team another owner first."}
            )


def user_delete(*, user: User, by: User, purge_images: bool = False) -> list[tuple[str, str]]:
    """Deletes the account and its personal team. Returns (registry name, what became of the personal namespace
    there): "deleted", "retired", "purged", or "retired: <why the purge did not finish>".

    A personal namespace with no image here nor in the registry goes with the account. One that may hold
    images is retired (namespaces/retirement.py): kept, pullable by admins only, its name — the user name — reserved
    until an admin releases or purges it, so that whoever signs up under the name next gets none of them. With
    `purge_images` (the admin's choice) its images are then deleted from the registry and the name freed.
    The registry is asked outside the transaction (no registry call holds database locks)."""
    from namespaces.models import Namespace
    from namespaces.retirement import holds_images, namespace_purge, namespace_retire
    from portus.options import option

    _check_deletable(user)
    if purge_images and not option("delete.enabled"):
        raise ValidationError({"images": "Purging images needs deletes enabled (delete.enabled)."})
    checked = {namespace.pk: holds_images(namespace)
               for namespace in Namespace.objects.filter(team__personal_of=user).select_related("registry", "team")}
    outcomes: list[tuple[str, str]] = []
    retired: list[Namespace] = []
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        _check_deletable(user)
        activity_record(key="user.delete", owner=by, target_type="user", target_name=user.username)
        personal = Team.objects.filter(personal_of=user).first()
        for namespace in Namespace.objects.filter(team__personal_of=user).select_related("registry"):
            # A namespace that appeared since the registry was asked is kept too (fail closed).
            if checked.get(namespace.pk, True):
                retired.append(namespace_retire(namespace=namespace, by=by, former_owner=f"user {user.username}"))
            else:
                outcomes.append((namespace.registry.name, "deleted"))
                namespace.delete()
        if personal is not None:
            personal.delete()
        user.delete()
    for namespace in retired:
        if not purge_images:
            outcomes.append((namespace.registry.name, "retired"))
            continue
        try:
            result = namespace_purge(namespace=namespace, by=by)
        except ValidationError as exc:
            outcomes.append((namespace.registry.name, "retired: " + " ".join(exc.messages)))
        else:
            outcomes.append((namespace.registry.name, "purged" if result.released else
                             f"retired: {result.remaining} manifests left, purge the namespace again"))
    return outcomes


MAX_TOKENS_PER_USER = 100


def application_token_create(*, user: User, application: str, by: User, expires_at=None,
                             registry_access: str = RegistryAccess.PUSH,
                             api_access: str = ApiAccess.WRITE) -> tuple[ApplicationToken, str]:
    """A new application token; the plain secret is returned once and never stored. The defaults (all
    a user may do) keep older API clients working; the web form asks."""
    application = (application or "").strip()
    if not application or len(application) > 100 or any(ord(c) < 32 for c in application):
        raise ValidationError({"application": "Name the application (1 to 100 characters, no control characters)."})
    if registry_access not in RegistryAccess.values:
        raise ValidationError({"registry_access": "Choose none, pull or push."})
    if api_access not in ApiAccess.values:
        raise ValidationError({"api_access": "Choose none, read or write."})
    if registry_access == RegistryAccess.NONE and api_access == ApiAccess.NONE:
        raise ValidationError({"registry_access": "A token needs registry access, API access or both."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must lie in the future."})
    if ApplicationToken.objects.filter(user=user, application=application).exists():
        raise ValidationError({"application": "There is already a token for this application."})
    if ApplicationToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise ValidationError({"application": f"An account has at most {MAX_TOKENS_PER_USER} tokens: revoke one."})
    plain = ApplicationToken.new_secret()
    token = ApplicationToken(user=user, application=application, expires_at=expires_at,
                             registry_access=registry_access, api_access=api_access,
                             created_by=by if getattr(by, "pk", None) else None)
    token.set_secret(plain)
    token.save()
    activity_record(key="application_token.create", owner=by, target=user,
                    parameters={"application": application, "scopes": token.scope_names,
                                "expires_at": expires_at.isoformat() if expires_at else None})
    return token, plain


def application_token_revoke(*, token: ApplicationToken, by: User) -> None:
    activity_record(key="application_token.destroy", owner=by, target=token.user,
                    parameters={"application": token.application})
    token.delete()


# Each `docker login` mints one; past this many live ones a user's least recently used goes, so that
# a script logging in in a loop cannot grow the table without bound.
REFRESH_TOKENS_PER_USER = 100


@transaction.atomic
def refresh_token_create(*, user: User, registry: Registry, client_id: str,
                         application_token: ApplicationToken | None = None) -> str:
    """A refresh token for `registry`, bound to the credential that was presented: the application
    token when there was one, else the password (see RefreshToken). The plain secret is returned once."""
    if application_token is None and not user.has_usable_password():
        # Nothing to bind to: such a token could outlive the application token that was really used.
        raise ValueError("A refresh token needs the application token it was minted with.")
    live = RefreshToken.objects.of_user(user)
    RefreshToken.objects.filter(user=user).exclude(pk__in=live.values("pk")).delete()
    surplus = live.order_by(Coalesce("last_used_at", "created_at").desc()).values_list("pk", flat=True)
    RefreshToken.objects.filter(pk__in=list(surplus[REFRESH_TOKENS_PER_USER - 1:])).delete()
    plain = RefreshToken.new_secret()
    token = RefreshToken(user=user, registry=registry, service=registry.hostname[:255],
                         client_id=(client_id or "")[:200], application_token=application_token,
                         password_fingerprint="" if application_token else password_hash_fingerprint(user.password))
    token.set_secret(plain)
    token.save()
    return plain


def refresh_token_revoke(*, token: RefreshToken, by: User) -> None:
    """Signs the client out: its next token request is refused."""
    activity_record(key="refresh_token.destroy", owner=by, target=token.user,
                    parameters={"client_id": token.client_id, "prefix": token.prefix})
    token.delete()


def is_internal_account(user: User) -> bool:
    """Whether this is the internal account that api_account_ensure created, and not merely an account with its
    name (one signed up or created by an admin before the name was reserved).

    The proof is the account's own `user.create` activity: marked `internal` by api_account_ensure; or, for an
    account made before that marker existed, an admin bot that created itself, which only the command line
    did (sign-up never makes a bot, and an admin's creations name the admin)."""
    from activities.models import Activity

    if user.username != User.INTERNAL_USERNAME or user.pk is None:
        return False
    created = (Activity.objects.filter(key="user.create", target_type="user", target_id=user.pk)
               .order_by("-created_at", "-id").first())
    if created is None or not isinstance(created.parameters, dict):
        return False
    if created.parameters.get("internal") is True:
        return True
    return (created.parameters.get("admin") is True and created.parameters.get("bot") is True
            and created.owner_id == user.pk)


@transaction.atomic
def api_account_ensure(*, password: str) -> tuple[User, bool]:
    """The internal `portus` account (an admin bot) that reads the registry; (user, created).

    An existing account of that name is adopted (password reset, admin and bot again) only when this
    function created it: one that a stranger signed up under the name is refused, never promoted."""
    if not password:
        raise ValidationError("PORTUS_PASSWORD is not set: the internal account needs a password.")
    user = User.objects.select_for_update().filter(username=User.INTERNAL_USERNAME).first()
    if user is None:
        user = user_create(username=User.INTERNAL_USERNAME, email=None, password=password, admin=True,
                           bot=True, check_password=False, internal=True)
        return user, True
    if not is_internal_account(user):
        raise ValidationError(
            f"An account named '{user.username}' already exists, and it is not the internal account (it was "
            "signed up or created by an admin): it is not made an admin. Delete that account (Admin → Users → "
            f"{user.username} → Delete, or DELETE /api/v1/users/{user.pk}), then run create_api_account again."
        )
    user.set_password(password)
    user.admin, user.bot, user.enabled = True, True, True
    user.save()
    return user, False
