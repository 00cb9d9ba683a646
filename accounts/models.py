"""Users and their credentials: application tokens and refresh tokens."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from portus.hashing import keyed_hash
from portus.names import validate_component
from portus.prepared import MOMENT, TEXT, OneRow

ROBOT_PREFIX = "robot$"
ROBOT_NAME_MAX = 150
USERNAME_MAX = 64


def validate_username(value: str) -> None:
    """A person's or bot's name is a namespace component of at most 64 characters; a robot's login name
    (`robot$…`) is built and checked by accounts.robots."""
    from django.core.exceptions import ValidationError

    if value.startswith(ROBOT_PREFIX):
        return
    if len(value) > USERNAME_MAX:
        raise ValidationError(f"At most {USERNAME_MAX} characters.")
    validate_component(value)


class PortusUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> User:
        return self.get(username=username)


class User(AbstractUser):
    """A person or a bot. `enabled` is Portus's name for Django's `is_active`."""

    INTERNAL_USERNAME = "portus"

    # 64 for people and bots (their personal namespace carries the name); robots' login names
    # (`robot$<namespace>+<name>`) are longer and are checked by `accounts.robots` instead.
    username = models.CharField(
        max_length=ROBOT_NAME_MAX,
        unique=True,
        validators=[validate_username],
        help_text="Lowercase letters, digits and single separators; also the name of the personal namespace.",
        error_messages={"unique": "A user with that user name already exists."},
    )
    email = models.EmailField(unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=150, blank=True)
    admin = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    bot = models.BooleanField(default=False)
    failed_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    current_sign_in_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Robots (accounts/robots.py): the namespace that owns one (NULL: an instance robot, or no robot).
    # Deleting the namespace deletes its robots; retiring it disables them (namespaces/policy.py).
    robot_namespace = models.ForeignKey("namespaces.Namespace", null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="robots")
    created_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # Portus's `admin` and `enabled` replace Django's is_staff/is_superuser/is_active (properties below).
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]

    objects = PortusUserManager()

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    def clean(self) -> None:
        super().clean()
        # Bots and the internal account have no email: keep NULL (unique) rather than "" (not unique).
        self.email = self.email or None

    @property
    def is_active(self) -> bool:  # noqa: F811 - read by Django's auth
        return self.enabled

    @property
    def is_staff(self) -> bool:  # noqa: F811
        return self.admin

    @property
    def is_robot(self) -> bool:
        """A robot account: a bot whose login name has the `robot$` form (which no person's name can have)."""
        return self.bot and self.username.startswith(ROBOT_PREFIX)

    @property
    def is_internal(self) -> bool:
        return self.username == self.INTERNAL_USERNAME

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    def is_locked(self, now=None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())

    def check_password(self, raw_password: str) -> bool:
        """Django's check, keeping refresh tokens minted with this password when the hasher upgrades
        its hash (same password, new encoding: `RefreshToken` binds to a fingerprint of the hash)."""

        def upgrade(raw: str) -> None:
            before = self.password
            self.set_password(raw)
            self._password = None
            self.save(update_fields=["password"])
            RefreshToken.objects.filter(
                user=self, password_fingerprint=password_hash_fingerprint(before)
            ).update(password_fingerprint=password_hash_fingerprint(self.password))

        return check_password(raw_password, self.password, upgrade)

    def password_fingerprint(self) -> str:
        """Changes whenever the password, the enabled flag or the lock changes."""
        return keyed_hash(f"{self.password}|{self.enabled}|{self.locked_until}", purpose="password-fp")[:32]


class TokenQuerySet(models.QuerySet):
    def usable(self, now: datetime | None = None):
        now = now or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)


class SecretToken(models.Model):
    """A random secret shown once; only its keyed hash and a short public prefix are stored."""

    PURPOSE = "token"
    PREFIX = "pt"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()
    # Loaded with the token by `find`, in the same query.
    FIND_RELATED: tuple[str, ...] = ("user",)
    # `find`'s query compiled once, for the kinds whose `usable()` takes no other value than the time.
    _find_prepared = None

    class Meta:
        abstract = True

    @classmethod
    def new_secret(cls) -> str:
        return f"{cls.PREFIX}_{secrets.token_urlsafe(32)}"

    @classmethod
    def hash_secret(cls, plain: str) -> str:
        return keyed_hash(plain, purpose=cls.PURPOSE)

    def set_secret(self, plain: str) -> None:
        self.digest = self.hash_secret(plain)
        self.prefix = plain[: len(self.PREFIX) + 7]

    # Longer than any secret `new_secret` makes: refused before it is hashed.
    MAX_PRESENTED_LENGTH = 200

    @classmethod
    def presentable(cls, plain: str) -> bool:
        """Whether a presented secret may be one of ours at all (not empty, not too long)."""
        return bool(plain) and len(plain) <= cls.MAX_PRESENTED_LENGTH

    @classmethod
    def find(cls, plain: str):
        """The usable token for a presented secret, with its user, in one indexed query; or None."""
        if not cls.presentable(plain):
            return None
        digest = cls.hash_secret(plain)
        if cls._find_prepared is not None:  # the same query, compiled once (portus/prepared.py)
            token = cls._find_prepared.get(digest=digest, now=timezone.now())
        else:
            token = cls.objects.usable().select_related(*cls.FIND_RELATED).filter(digest=digest).first()
        if token is None or not hmac.compare_digest(token.digest, digest):
            return None
        return token

    def touch(self, *, every: timedelta = timedelta(minutes=1), address: str | None = None) -> bool:
        """Records use, at most once a minute per token (this sits on the token endpoint's hot path).
        Answers whether it wrote."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > every:
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
            return True
        return False


class RegistryAccess(models.TextChoices):
    NONE = "none", "No registry access"
    PULL = "pull", "Pull"
    PUSH = "push", "Pull and push"


class ApiAccess(models.TextChoices):
    NONE = "none", "No API access"
    READ = "read", "Read"
    WRITE = "write", "Read and write"


# What a token may do at most, whatever its user's role: the token endpoint intersects the policy's
# answer with this (realm/authorization.py), the API refuses what the token's API access does not cover.
REGISTRY_ACTIONS_OF = {
    RegistryAccess.NONE: frozenset(),
    RegistryAccess.PULL: frozenset({"pull"}),
    RegistryAccess.PUSH: frozenset({"pull", "push", "delete", "*"}),
}


class ApplicationToken(SecretToken):
    """Portus's application token: a password for scripts and `docker login`, one per application
    (`application` is its name), limited to the registry and API access chosen at creation."""

    PURPOSE = "application-token"
    PREFIX = "pat"
    FIND_RELATED = ("user", "user__robot_namespace")

    application = models.CharField(max_length=100)
    # Tokens made before scopes existed could do everything their user could: they keep that.
    registry_access = models.CharField(max_length=8, choices=RegistryAccess.choices, default=RegistryAccess.PUSH)
    api_access = models.CharField(max_length=8, choices=ApiAccess.choices, default=ApiAccess.WRITE)
    last_used_from = models.GenericIPAddressField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["application"]
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="unique_application_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.application} ({self.prefix}…)"

    @property
    def registry_actions(self) -> frozenset[str]:
        return REGISTRY_ACTIONS_OF.get(self.registry_access, frozenset())

    @property
    def may_read_api(self) -> bool:
        return self.api_access in (ApiAccess.READ, ApiAccess.WRITE)

    @property
    def may_write_api(self) -> bool:
        return self.api_access == ApiAccess.WRITE

    @property
    def scope_names(self) -> list[str]:
        """The scopes as the API shows them: `registry:pull`, `registry:push`, `api:read`, `api:write`."""
        names = []
        if self.registry_access != RegistryAccess.NONE:
            names.append(f"registry:{self.registry_access}")
        if self.api_access != ApiAccess.NONE:
            names.append(f"api:{self.api_access}")
        return names

    def touch(self, *, every: timedelta = timedelta(minutes=1), address: str | None = None) -> bool:
        """Records the time and address of use, at most once a minute; a use from another address
        than the last recorded one is an audit event (`application_token.new_address`)."""
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at <= every:
            return False
        previous = self.last_used_from
        ApplicationToken.objects.filter(pk=self.pk).update(last_used_at=now, last_used_from=address)
        self.last_used_at, self.last_used_from = now, address
        if address and address != previous:
            from activities.services import activity_record

            activity_record(key="application_token.new_address", owner=self.user, target=self.user,
                            parameters={"application": self.application, "address": address,
                                        "previous": previous or ""})
        return True


# Every token-endpoint request with an application token asks this: compiled once.
ApplicationToken._find_prepared = OneRow(
    lambda digest, now: ApplicationToken.objects.usable(now).select_related(*ApplicationToken.FIND_RELATED)
    .filter(digest=digest), digest=TEXT, now=MOMENT)


class RefreshTokenQuerySet(TokenQuerySet):
    def usable(self):
        """Not revoked, neither idle nor old beyond the current options (a changed option applies at
        once), and, when an application token minted it, that token still stands. The password
        binding needs the user's hash: see `of_user` and `RefreshToken.is_good_for`."""
        from portus.options import option

        now = timezone.now()
        idle_since = now - timedelta(days=option("refresh_tokens.idle_days"))
        max_days = option("refresh_tokens.max_lifetime_days")
        return self.usable_at(now, idle_since, now - timedelta(days=max_days) if max_days else None)

    def usable_at(self, now, idle_since, created_after=None):
        """`usable` with its moments given (the token endpoint's compiled `find`)."""
        recent = Q(last_used_at__gt=idle_since) | Q(last_used_at__isnull=True, created_at__gt=idle_since)
        if created_after is not None:
            recent &= Q(created_at__gt=created_after)
        minted_ok = Q(application_token__isnull=True) | (
            Q(application_token__revoked_at__isnull=True)
            & (Q(application_token__expires_at__isnull=True) | Q(application_token__expires_at__gt=now))
        )
        return super().usable(now).filter(recent, minted_ok)

    def of_user(self, user: User):
        """One user's signed-in clients: exactly the tokens the token endpoint would still accept."""
        fingerprint = password_hash_fingerprint(user.password)
        return self.usable().filter(user=user).filter(
            Q(application_token__isnull=False) | Q(password_fingerprint=fingerprint)
        )


def password_hash_fingerprint(encoded: str) -> str:
    """Names a password hash without revealing it; changes when the password does."""
    return keyed_hash(encoded or "", purpose="refresh-token-password")[:32]


class RefreshToken(SecretToken):
    """An OAuth2 refresh token from the token endpoint (offline_token / access_type=offline): a
    "signed-in client" such as `docker login`.

    It lives as long as all of these hold, checked on every use (nothing is cached):
    - it is not revoked; it was used within the last `refresh_tokens.idle_days` (sliding: every use
      extends it, because docker and containerd keep one refresh token for months and never rotate
      it); and it is younger than `refresh_tokens.max_lifetime_days` (when not 0), so that a stolen
      token in steady use still ends;
    - the credential that minted it still stands: the application token (revoking or deleting it ends
      its refresh tokens; an expired one too), or the password (a fingerprint of the password hash is
      kept: any change of password ends them; a hash upgraded by the hasher is the same password and
      keeps them, see `User.check_password`);
    - the account may act (`policy.is_active`, asked by the token endpoint): disabling or deleting it
      ends them; a lock only suspends them, since anyone can lock an account by guessing passwords;
    - it is used for the registry it was minted for (the token's `service`).
    `client_id` is shown, not checked: it is whatever the client says, and clients that share docker's
    credential file (crane, skopeo) present docker's refresh token under their own client id.
    """

    PURPOSE = "refresh-token"
    PREFIX = "prt"
    FIND_RELATED = ("user", "user__robot_namespace", "application_token")

    client_id = models.CharField(max_length=200, blank=True)
    # The registry's host name at mint time, for display; `registry` is what is checked.
    service = models.CharField(max_length=255, blank=True)
    registry = models.ForeignKey("registries.Registry", on_delete=models.CASCADE, null=True,
                                 related_name="+")
    application_token = models.ForeignKey(ApplicationToken, on_delete=models.CASCADE, null=True, blank=True,
                                          related_name="refresh_tokens")
    password_fingerprint = models.CharField(max_length=32, blank=True)

    objects = RefreshTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.client_id or 'client'} ({self.prefix}…)"

    @property
    def minted_with(self) -> str:
        return "application_token" if self.application_token_id else "password"

    @property
    def ends_at(self) -> datetime:
        """When it ends unless used again, under the current options (`expires_at` stays empty: the
        options decide, so that changing them applies to every token at once)."""
        from portus.options import option

        end = (self.last_used_at or self.created_at) + timedelta(days=option("refresh_tokens.idle_days"))
        max_days = option("refresh_tokens.max_lifetime_days")
        return min(end, self.created_at + timedelta(days=max_days)) if max_days else end

    def usable_until(self) -> datetime:
        """The moment `find` stops finding it unless it is used, revoked or changed: its idle or lifetime
        end, its own expiry, the expiry of the application token that minted it."""
        ends = [self.ends_at]
        if self.expires_at is not None:
            ends.append(self.expires_at)
        if self.application_token_id and self.application_token.expires_at is not None:
            ends.append(self.application_token.expires_at)
        return min(ends)

    @classmethod
    def find(cls, plain: str):
        """As `SecretToken.find`, through the query compiled once for each shape of the options."""
        from portus.options import option

        if not cls.presentable(plain):
            return None
        digest = cls.hash_secret(plain)
        now = timezone.now()
        idle_since = now - timedelta(days=option("refresh_tokens.idle_days"))
        if max_days := option("refresh_tokens.max_lifetime_days"):
            token = _REFRESH_FIND_BOUNDED.get(digest=digest, now=now, idle_since=idle_since,
                                              created_after=now - timedelta(days=max_days))
        else:
            token = _REFRESH_FIND.get(digest=digest, now=now, idle_since=idle_since)
        if token is None or not hmac.compare_digest(token.digest, digest):
            return None
        return token

    def is_good_for(self, registry) -> bool:
        """May be exchanged for a registry token of `registry`; expiry, revocation and the application
        token are checked by the query that found it (`find`)."""
        if registry is None or self.registry_id != registry.pk:
            return False
        if self.application_token_id:
            return True
        current = password_hash_fingerprint(self.user.password)
        return bool(self.password_fingerprint) and hmac.compare_digest(self.password_fingerprint, current)


def record_failed_login(user_id: int) -> None:
    """Counts a failed attempt atomically and locks the account once the limit is reached."""
    from portus.options import option

    limit = option("lockout.max_attempts")
    now = timezone.now()
    User.objects.filter(pk=user_id).update(failed_attempts=F("failed_attempts") + 1)
    User.objects.filter(pk=user_id, failed_attempts__gte=limit).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    ).update(
        locked_until=now + timedelta(minutes=option("lockout.lock_minutes")),
        locked_at=now,
        failed_attempts=0,
    )


def record_successful_login(user: User) -> None:
    if user.failed_attempts:
        User.objects.filter(pk=user.pk).update(failed_attempts=0)
        user.failed_attempts = 0


# Every refresh-token grant asks one of these (with and without a maximum lifetime): compiled once.
_REFRESH_FIND = OneRow(
    lambda digest, now, idle_since: RefreshToken.objects.usable_at(now, idle_since)
    .select_related(*RefreshToken.FIND_RELATED).filter(digest=digest), digest=TEXT, now=MOMENT, idle_since=MOMENT)
_REFRESH_FIND_BOUNDED = OneRow(
    lambda digest, now, idle_since, created_after: RefreshToken.objects.usable_at(now, idle_since, created_after)
    .select_related(*RefreshToken.FIND_RELATED).filter(digest=digest),
    digest=TEXT, now=MOMENT, idle_since=MOMENT, created_after=MOMENT)
