"""Users and their credentials: application tokens and refresh tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from portus.names import validate_component


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a secret under the project's secret key; what is stored instead of the secret."""
    key = hashlib.sha256(f"portus:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


class PortusUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> User:
        return self.get(username=username)


class User(AbstractUser):
    """A person or a bot. `enabled` is Portus's name for Django's `is_active`."""

    INTERNAL_USERNAME = "portus"

    username = models.CharField(
        max_length=64,
        unique=True,
        validators=[validate_component],
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
    def is_internal(self) -> bool:
        return self.username == self.INTERNAL_USERNAME

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    def is_locked(self, now=None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())

    def password_fingerprint(self) -> str:
        """Changes whenever the password, the enabled flag or the lock changes."""
        return keyed_hash(f"{self.password}|{self.enabled}|{self.locked_until}", purpose="password-fp")[:32]


class TokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
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

    @classmethod
    def find(cls, plain: str):
        """The usable token for a presented secret, with its user, in one indexed query; or None."""
        if not plain or len(plain) > 200:
            return None
        digest = cls.hash_secret(plain)
        token = cls.objects.usable().select_related("user").filter(digest=digest).first()
        if token is None or not hmac.compare_digest(token.digest, digest):
            return None
        return token

    def touch(self, *, every: timedelta = timedelta(minutes=1)) -> None:
        """Records use, at most once a minute per token (this sits on the token endpoint's hot path)."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > every:
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class ApplicationToken(SecretToken):
    """Portus's application token: a password for scripts and `docker login`, one per application."""

    PURPOSE = "application-token"
    PREFIX = "pat"

    application = models.CharField(max_length=100)

    class Meta:
        ordering = ["application"]
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="unique_application_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.application} ({self.prefix}…)"


class RefreshToken(SecretToken):
    """An OAuth2 refresh token from the token endpoint (offline_token / access_type=offline)."""

    PURPOSE = "refresh-token"
    PREFIX = "prt"

    client_id = models.CharField(max_length=200, blank=True)
    service = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]


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
