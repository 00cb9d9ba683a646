"""The Docker Distribution registries this service authorises and mirrors."""

from __future__ import annotations

import functools
import hmac
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, models, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from portus.hashing import keyed_hash
from portus.prepared import execute

# How long a process trusts its copy of the registries table before reading it again; a change made
# in this process is seen at once (signals below), one made elsewhere within this many seconds.
DIRECTORY_TTL_SECONDS = 5.0
# A name that matches nothing may be a registry another process has just added (an admin adds it on one
# web worker, the next `docker login` lands on another): such a miss reads the table again, but at most
# this often, so a stream of made-up names costs at most a few small queries a second.
MISS_RECHECK_SECONDS = 0.5
MAX_HOST_LENGTH = 255
NOTIFICATION_SECRET_PREFIX = "pns"
NOTIFICATION_SECRET_PURPOSE = "registry-notifications"
MAX_SECRET_LENGTH = 200


def canonical_host(value: str) -> str:
    """A host[:port] as stored and compared: stripped, lowercased."""
    return (value or "").strip().lower()


class Registry(models.Model):
    name = models.CharField(max_length=255, unique=True)
    # host[:port] the registry is reached at by this service; also the token `service` (the registry's
    # auth.token.service) and so the `aud` of every token for it.
    hostname = models.CharField(max_length=255, unique=True)
    # host[:port] clients use, when it differs (behind a proxy).
    external_hostname = models.CharField(max_length=255, blank=True)
    use_ssl = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True)
    # How the last sync ended (mirror.sync.Outcome) and what it did: counts, and why it removed nothing
    # when it withheld its removals.
    last_sync_outcome = models.CharField(max_length=32, blank=True)
    last_sync_summary = models.JSONField(default=dict, blank=True)
    # The secret this registry sends with its notifications (`Authorization: Bearer …`), as a keyed hash
    # with a short public prefix; the secret itself is shown once, when made. After a rotation the
    # previous one is still accepted until `previous_notification_secret_until`, so events the registry
    # sends before it is restarted with the new one are not refused (it would retry them forever).
    notification_secret_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    notification_secret_prefix = models.CharField(max_length=16, blank=True, editable=False)
    notification_secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    previous_notification_secret_digest = models.CharField(max_length=64, blank=True, db_index=True,
                                                           editable=False)
    previous_notification_secret_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.name

    @property
    def base_url(self) -> str:
        return f"{'https' if self.use_ssl else 'http'}://{self.hostname}"

    @property
    def reference_host(self) -> str:
        """The host clients put in front of image names."""
        return self.external_hostname or self.hostname

    @classmethod
    def for_host(cls, host: str) -> Registry | None:
        """The registry known by this host (the token `service`, or an event's `request.host`).

        Looked up in this process's copy of the whole (small) table, so a lookup costs no query and a
        stream of made-up host names costs no memory: nothing is remembered about a name that matched
        nothing."""
        host = canonical_host(host)
        if not host or len(host) > MAX_HOST_LENGTH:
            return None
        found = directory().by_host.get(host)
        if found is None:
            found = directory(max_age=MISS_RECHECK_SECONDS).by_host.get(host)
        return found

    @classmethod
    def default(cls) -> Registry | None:
        return cls.objects.order_by("id").first()

    @property
    def has_notification_secret(self) -> bool:
        return bool(self.notification_secret_digest)

    def previous_notification_secret_valid(self, now: datetime | None = None) -> bool:
        until = self.previous_notification_secret_until
        return bool(self.previous_notification_secret_digest) and until is not None and until > (now or timezone.now())

    @staticmethod
    def hash_notification_secret(plain: str) -> str:
        return keyed_hash(plain, purpose=NOTIFICATION_SECRET_PURPOSE)

    @classmethod
    def for_notification_secret(cls, plain: str, *, now: datetime | None = None) -> Registry | None:
        """The registry whose notification secret (or previous one, still in its window) this is.

        Every notification asks this, so it is one indexed statement on the keyed hash, written out
        rather than built by the ORM, then a constant-time compare. The answer is read from the table
        each time (a rotated-out secret fails at once on every worker); the Registry object itself comes
        from this process's directory when it holds that row."""
        if not plain or len(plain) > MAX_SECRET_LENGTH:
            return None
        now = now or timezone.now()
        digest = cls.hash_notification_secret(plain)
        with connection.cursor() as cursor:
            execute(cursor, _SECRET_SQL(), _secret_params(digest, now))
            rows = cursor.fetchall()
        for pk, current_digest, previous_digest in rows:
            # The statement matched the previous digest only inside its window.
            if hmac.compare_digest(current_digest, digest) or hmac.compare_digest(previous_digest, digest):
                return directory().by_id.get(pk) or cls.objects.filter(pk=pk).first()
        return None

    @classmethod
    def presumed_for_notification_secret(cls, plain: str) -> tuple[Registry, str] | None:
        """(the registry, the secret's digest) when this process's copy of the registries table has the
        secret's digest as a registry's current or previous one; no query. Only a presumption, to be
        checked against the table in the statement that acts on it (mirror/inbox.py `store_if_holder`):
        the copy may be seconds old."""
        if not plain or len(plain) > MAX_SECRET_LENGTH:
            return None
        digest = cls.hash_notification_secret(plain)
        found = directory().by_secret.get(digest)
        return None if found is None else (found, digest)


def _secret_columns() -> tuple[str, str, str, str, str]:
    meta = Registry._meta
    quote = connection.ops.quote_name
    pk, cur, prev, until = (quote(meta.get_field(name).column) for name in (
        "id", "notification_secret_digest", "previous_notification_secret_digest",
        "previous_notification_secret_until"))
    return quote(meta.db_table), pk, cur, prev, until


def _secret_sql() -> str:
    """SELECT of the rows holding a notification secret's digest, current or previous and in its window."""
    table, pk, cur, prev, until = _secret_columns()
    where = f"{cur} = %s OR ({prev} = %s AND {until} > %s)"
    return f"SELECT {pk}, {cur}, {prev} FROM {table} WHERE {where}"  # noqa: S608 - names from meta


_SECRET_SQL = functools.cache(_secret_sql)


@functools.cache
def secret_holder_sql() -> str:
    """SELECT 1 of the registry (parameters: its id, the digest twice, now) when it holds the notification
    secret of that digest at this moment: current, or previous and in its window."""
    table, pk, cur, prev, until = _secret_columns()
    return f"SELECT 1 FROM {table} WHERE {pk} = %s AND ({cur} = %s OR ({prev} = %s AND {until} > %s))"  # noqa: S608


def _secret_params(digest: str, now: datetime) -> list:
    until_field = Registry._meta.get_field("previous_notification_secret_until")
    return [digest, digest, until_field.get_db_prep_value(now, connection)]


def secret_holder_params(registry: Registry, digest: str, now: datetime) -> list:
    return [registry.pk, *_secret_params(digest, now)]


@dataclass(frozen=True)
class RegistryDirectory:
    """Every registry, by each of its host names, as read at `loaded_at` (monotonic)."""

    loaded_at: float
    by_host: dict[str, Registry] = field(default_factory=dict)
    by_id: dict[int, Registry] = field(default_factory=dict)
    # notification secret digest (current or previous, whatever its window) → registry
    by_secret: dict[str, Registry] = field(default_factory=dict)
    first: Registry | None = None  # the oldest one: the registry of a token request naming no service


_directory: RegistryDirectory | None = None
_directory_lock = threading.Lock()


def directory(*, max_age: float = DIRECTORY_TTL_SECONDS) -> RegistryDirectory:
    """This process's copy of the registries table, read again when older than `max_age` seconds."""
    global _directory
    current = _directory
    now = time.monotonic()
    if current is not None and now - current.loaded_at < max_age:
        return current
    with _directory_lock:
        current = _directory
        if current is not None and now - current.loaded_at < max_age:
            return current
        registries = list(Registry.objects.order_by("id"))
        by_host: dict[str, Registry] = {}
        # The oldest registry wins a clash between one's external name and another's; host names are unique.
        for registry in reversed(registries):
            if registry.external_hostname:
                by_host[canonical_host(registry.external_hostname)] = registry
        for registry in registries:
            by_host[canonical_host(registry.hostname)] = registry
        by_secret = {digest: registry for registry in reversed(registries)
                     for digest in (registry.previous_notification_secret_digest,
                                    registry.notification_secret_digest) if digest}
        current = RegistryDirectory(loaded_at=now, by_host=by_host, by_id={r.pk: r for r in registries},
                                    by_secret=by_secret, first=registries[0] if registries else None)
        _directory = current
        return current


def forget_directory(**_) -> None:
    """Drops this process's copy of the registries table, now and again when the transaction commits
    (a thread reading it in between would otherwise keep the old rows for the TTL)."""
    global _directory
    _directory = None

    def again() -> None:
        global _directory
        _directory = None

    if connection.in_atomic_block:
        transaction.on_commit(again)


post_save.connect(forget_directory, sender=Registry, dispatch_uid="forget-registry-directory-save")
post_delete.connect(forget_directory, sender=Registry, dispatch_uid="forget-registry-directory-delete")
