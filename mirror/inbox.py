"""Turning a notification delivery into inbox rows: parse, classify, store; never call the registry.

Every delivery that passed authentication is kept. What cannot be understood is stored `flagged` with the
reason, what needs no work (blob pushes, mounts, the internal account's own pulls) is stored `ignored`,
and only what changes the browsable copy is stored `pending` for the background process.

An event's time is the registry's, unless it lies in the future beyond CLOCK_SKEW of this service's clock:
then it is the time it was received (the original stays in `raw`). A tag keeps the time of the last event
applied to it, so one stamp from 2099 would otherwise leave a tombstone hiding every later push.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from accounts.models import User
from mirror.models import Event
from portus.names import DIGEST_RE, TAG_RE, is_valid_component
from portus.prepared import execute
from registries.models import Registry

ACTIONS = frozenset({"push", "pull", "mount", "delete"})

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_MEDIA_TYPES = INDEX_MEDIA_TYPES | IMAGE_MEDIA_TYPES
SCHEMA1_MEDIA_TYPES = frozenset({
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
})
CONTENT_TYPES = frozenset({
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
})

_FRACTION_RE = re.compile(r"(\.\d{1,6})\d*")
_MAX_REPOSITORY = 255
MAX_TAG_DIGEST = 160  # Tag.digest (sha256: 71 characters, sha512: 135)
# How far ahead of this service's clock a registry's may be before its event times are not believed.
CLOCK_SKEW = timedelta(minutes=1)


def text(value: Any, limit: int) -> str:
    """A string fit for an indexed column: NULs dropped, lone surrogates replaced, cut to `limit`."""
    if not isinstance(value, str):
        return ""
    value = value.replace("\x00", "")
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit]


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as Distribution writes it (nanoseconds, `Z` or an offset), or None."""
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    value = _FRACTION_RE.sub(r"\1", value.strip(), count=1)
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def event_time(stamp: datetime | None, received_at: datetime) -> datetime:
    """The time an event is ordered by: its own, unless it has none or claims to be from the future."""
    if stamp is None or stamp > received_at + CLOCK_SKEW:
        return received_at
    return stamp


def is_repository_name(name: str) -> bool:
    return (0 < len(name) <= _MAX_REPOSITORY) and all(is_valid_component(part) for part in name.split("/"))


def hashed_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def raw_text(value: Any) -> str:
    """JSON text that any database stores and that json.loads turns back into exactly `value`."""
    return json.dumps(value, ensure_ascii=True)


@dataclass
class ParsedEvent:
    """The columns of one inbox row, and how it should be treated."""

    event_id: str
    raw: str
    action: str = ""
    repository: str = ""
    tag: str = ""
    digest: str = ""
    media_type: str = ""
    actor: str = ""
    request_host: str = ""
    timestamp: datetime | None = None
    # What mirror.event_log.registry_request_id would read back out of `raw` (its log lines name it).
    registry_request_id: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def is_manifest(self) -> bool:
        return self.media_type in MANIFEST_MEDIA_TYPES


def _event_id(value: Any, event: Any) -> str:
    if isinstance(value, str) and 0 < len(value) <= 255 and value.isascii() and value.isprintable():
        return value
    if isinstance(value, str) and value:
        # An id too long or odd for the column: its hash still deduplicates redeliveries.
        return hashed_id(value.encode("utf-8", "surrogatepass"))
    return hashed_id(canonical_bytes(event))


def parse_event(event: Any) -> ParsedEvent:
    """Reads one element of an envelope's `events`; problems are collected, never raised."""
    if not isinstance(event, dict):
        return ParsedEvent(event_id=hashed_id(canonical_bytes(event)), raw=raw_text(event),
                           problems=["the event is not a JSON object"])
    parsed = ParsedEvent(event_id=_event_id(event.get("id"), event), raw=raw_text(event))
    target = event.get("target") if isinstance(event.get("target"), dict) else {}
    request = event.get("request") if isinstance(event.get("request"), dict) else {}
    actor = event.get("actor") if isinstance(event.get("actor"), dict) else {}
    parsed.action = text(event.get("action"), 32)
    parsed.repository = text(target.get("repository"), 255)
    parsed.tag = text(target.get("tag"), 128)
    parsed.digest = text(target.get("digest"), 255)
    parsed.media_type = text(target.get("mediaType"), 255)
    parsed.actor = text(actor.get("name"), 255)
    parsed.request_host = text(request.get("host"), 255).strip().lower()
    parsed.timestamp = parse_time(event.get("timestamp"))
    request_id = request.get("id")
    parsed.registry_request_id = request_id[:100] if isinstance(request_id, str) else ""

    problems = parsed.problems
    if "id" not in event or not isinstance(event.get("id"), str) or not event.get("id"):
        problems.append("the event has no id")
    if parsed.action not in ACTIONS:
        problems.append(f"unknown action {parsed.action!r}" if parsed.action else "the event has no action")
    if not isinstance(event.get("target"), dict):
        problems.append("the event has no target")
    elif not is_repository_name(target.get("repository") if isinstance(target.get("repository"), str) else ""):
        problems.append("the target has no valid repository name")
    if target.get("tag") not in (None, "") and not (isinstance(target["tag"], str) and TAG_RE.match(target["tag"])):
        problems.append("the target's tag is not a valid tag")
    if target.get("digest") not in (None, "") and not (
        isinstance(target["digest"], str) and DIGEST_RE.match(target["digest"])
    ):
        problems.append("the target's digest is not a valid digest")
    if parsed.action == "push" and parsed.is_manifest and len(parsed.digest) > MAX_TAG_DIGEST:
        problems.append(f"a manifest digest longer than {MAX_TAG_DIGEST} characters cannot be stored")
    if parsed.action in ("push", "pull", "mount") and not parsed.digest:
        problems.append(f"a {parsed.action} event without a digest")
    if event.get("timestamp") is not None and parsed.timestamp is None:
        problems.append("unreadable timestamp")
    return parsed


def classify(parsed: ParsedEvent, registry: Registry | None, *, missing: str = "") -> tuple[str, str]:
    """(status, reason) of a freshly stored or retried event; `missing` says why there is no registry."""
    if parsed.problems:
        return Event.Status.FLAGGED, "; ".join(parsed.problems)
    action = parsed.action
    if action == "mount":
        return Event.Status.IGNORED, "blob mount"
    if action in ("push", "pull"):
        if parsed.media_type in SCHEMA1_MEDIA_TYPES:
            return Event.Status.IGNORED, "schema 1 manifest: not read"
        # An empty media type cannot be a blob of a current registry; a tagged one is worth a look.
        manifest = parsed.is_manifest or (parsed.media_type == "" and bool(parsed.tag))
        if not manifest:
            return Event.Status.IGNORED, f"blob {action}"
        if action == "pull" and parsed.actor == User.INTERNAL_USERNAME:
            return Event.Status.IGNORED, "pull by the internal account"
        if not parsed.tag:
            return Event.Status.IGNORED, f"manifest {action} by digest (no tag)"
    if registry is None:
        return Event.Status.FLAGGED, missing or f"unknown registry host {parsed.request_host!r}"
    return Event.Status.PENDING, ""


def _row(parsed: ParsedEvent, registry: Registry | None, now: datetime, status: str, reason: str, *,
         authenticated: bool) -> Event:
    row = new_event(
        event_id=parsed.event_id, registry=registry, registry_authenticated=authenticated, action=parsed.action,
        repository=parsed.repository, tag=parsed.tag, digest=parsed.digest, media_type=parsed.media_type,
        actor=parsed.actor, request_host=parsed.request_host, timestamp=event_time(parsed.timestamp, now),
        raw=parsed.raw, status=status, last_error=reason, received_at=now, next_attempt_at=now,
        processed_at=now if status == Event.Status.IGNORED else None,
    )
    # Known from the parse: the web's log line of the row need not parse `raw` again (mirror/event_log.py).
    row.known_registry_request_id = parsed.registry_request_id
    return row


@functools.cache
def _event_defaults() -> dict[str, Any] | None:
    """Each field's default by attname, when every one is a constant (a str, int or bool, a choice of
    them, or None)."""
    defaults = {f.attname: f.get_default() for f in Event._meta.concrete_fields}
    constant = all(value is None or isinstance(value, (str, int)) for value in defaults.values())
    return defaults if constant else None


def new_event(*, registry: Registry | None, **values: Any) -> Event:
    """`Event(registry=registry, **values)`, the same object (tests/webhooks compare them) at a third of
    the cost of Model.__init__, which resolves every field's keyword one by one and sends the init
    signals (nothing listens to them for Event; if something does, or a default is not a constant, this
    is Model.__init__ itself)."""
    defaults = _event_defaults()
    if defaults is None or not values.keys() <= defaults.keys() or pre_init.has_listeners(Event) \
            or post_init.has_listeners(Event):
        return Event(registry=registry, **values)
    event = Event.__new__(Event)
    event._state = ModelState()
    fields = event.__dict__
    fields.update(defaults)
    fields.update(values)
    event.registry = registry  # through the descriptor, as Model.__init__ sets it
    return event


def _undecodable(body: bytes, reason: str, now: datetime, sender: Registry | None) -> Event:
    as_text = body.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
    return new_event(event_id=hashed_id(body), raw=as_text, status=Event.Status.FLAGGED, last_error=reason,
                 registry=sender, registry_authenticated=sender is not None,
                 timestamp=now, received_at=now, next_attempt_at=now)


def rows_from_body(body: bytes, *, content_type: str, now: datetime | None = None,
                   registry: Registry | None = None) -> list[Event]:
    """The inbox rows for one delivery (unsaved), in the order the registry sent the events. `registry`
    is the registry whose own secret authenticated the delivery: the registry of every event in it. Without
    it (the legacy shared secret) each event's `request.host` names its registry."""
    now = now or timezone.now()
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return [_undecodable(body, "the body is not JSON", now, registry)]
    events = envelope.get("events") if isinstance(envelope, dict) else None
    if not isinstance(events, list):
        row = _undecodable(body, "the body is not an envelope {\"events\": […]}", now, registry)
        row.raw = raw_text(envelope)
        return [row]
    rows: dict[str, Event] = {}
    for element in events:
        parsed = parse_event(element)
        if parsed.event_id in rows:
            continue
        owner = registry if registry is not None else Registry.for_host(parsed.request_host)
        status, reason = classify(parsed, owner)
        if content_type not in CONTENT_TYPES and status != Event.Status.FLAGGED:
            status, reason = Event.Status.FLAGGED, f"unexpected content type {content_type[:100]!r}"
        rows[parsed.event_id] = _row(parsed, owner, now, status, reason, authenticated=registry is not None)
    return list(rows.values())


def store(rows: list[Event]) -> int:
    """Inserts the rows; ids already in the inbox are skipped (deliveries are at least once).

    One `INSERT … ON CONFLICT (event_id) DO NOTHING` per batch, written out rather than built by the ORM
    (this runs for every notification). In autocommit each statement is its own transaction: the rows
    are committed when this returns, before the registry gets its 2xx. Returns the rows given."""
    if not rows:
        return 0
    db = connections[DEFAULT_DB_ALIAS]  # looked up once: each `connection.x` is a lookup of its own
    fields = _insert_fields()
    per_batch = max(1, min(500, _MAX_PARAMETERS.get(db.vendor, 10_000) // len(fields)))
    with transaction.atomic() if len(rows) > per_batch else contextlib.nullcontext():
        with db.cursor() as cursor:
            for start in range(0, len(rows), per_batch):
                batch = rows[start:start + per_batch]
                values = [value for row in batch for value in _values(row, db)]
                if len(batch) <= _PREPARED_ROWS:  # one event per POST is the registry's way
                    execute(cursor, _insert_sql(len(batch)), values)
                else:
                    cursor.execute(_insert_sql(len(batch)), values)
    return len(rows)


def store_if_holder(rows: list[Event], *, registry: Registry, digest: str, now: datetime | None = None) -> bool | None:
    """On PostgreSQL, for a delivery of one event (the registry's way): stores it if, at this moment,
    `registry` holds the notification secret of `digest` (current, or previous in its window), in ONE
    statement that checks the secret and inserts: a round trip fewer than authenticating first. True: the
    secret holds and the row is stored (or was already: deduplicated); False: it does not hold and
    nothing is stored (the caller authenticates as usual: a secret rotated away is refused at once).
    None where this does not apply (another database, no row or several): authenticate, then `store`."""
    from registries.models import secret_holder_params

    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or len(rows) != 1:
        return None
    params = [*secret_holder_params(registry, digest, now or timezone.now()), *_values(rows[0], db)]
    with db.cursor() as cursor:
        execute(cursor, _holder_insert_sql(), params)
        return bool(cursor.fetchone()[0])


@functools.cache
def _holder_insert_sql() -> str:
    from registries.models import secret_holder_sql

    quote = connection.ops.quote_name
    fields = _insert_fields()
    table, columns = quote(Event._meta.db_table), ", ".join(quote(f.column) for f in fields)
    key, values = quote(Event._meta.get_field("event_id").column), ", ".join(["%s"] * len(fields))
    # A data-modifying WITH runs once, to completion, whether or not the SELECT reads it (PostgreSQL).
    return (f"WITH holder AS ({secret_holder_sql()}), "  # noqa: S608 - names from meta; values are parameters
            f"stored AS (INSERT INTO {table} ({columns}) SELECT {values} WHERE EXISTS (SELECT 1 FROM holder) "
            f"ON CONFLICT ({key}) DO NOTHING RETURNING 1) SELECT EXISTS (SELECT 1 FROM holder)")


# Deliveries of up to this many events run as prepared statements on PostgreSQL (portus/prepared.py).
_PREPARED_ROWS = 16
# SQLite before 3.32 allowed 999 parameters per statement.
_MAX_PARAMETERS = {"sqlite": 999}


@functools.cache
def _insert_fields() -> tuple:
    return tuple(f for f in Event._meta.concrete_fields if not f.primary_key)


# What get_db_prep_save returns unchanged: a str for a CharField or TextField, a bool for a BooleanField,
# an int for an integer or a key, None anywhere. An aware datetime for a DateTimeField goes through the
# backend's adapter, as get_db_prep_save does; anything else through get_db_prep_save itself.
_AS_IS = {"CharField": str, "TextField": str, "BooleanField": bool, "PositiveIntegerField": int,
          "IntegerField": int, "ForeignKey": int}


class _Never:
    """No value is of this type: a field of another kind always goes through get_db_prep_save."""


@functools.cache
def _plan() -> tuple:
    """(attname, field, the type passed as it is or None for a DateTimeField) per inserted field."""
    plan = []
    for f in _insert_fields():
        kind = f.get_internal_type()
        plan.append((f.attname, f, None if kind == "DateTimeField" else _AS_IS.get(kind, _Never)))
    return tuple(plan)


def _values(row: Event, db) -> list:
    """The row's insert parameters, equal to get_db_prep_save's (tests/mirror compare them), at a
    fraction of its cost: this runs for every event."""
    values = row.__dict__
    adapt = db.ops.adapt_datetimefield_value
    out = []
    for name, f, kind in _plan():
        value = values[name]
        if value is None or type(value) is kind:
            out.append(value)
        elif kind is None and isinstance(value, datetime) and value.tzinfo is not None:
            out.append(adapt(value))
        else:
            out.append(f.get_db_prep_save(value, db))
    return out


@functools.lru_cache(maxsize=64)
def _insert_sql(count: int) -> str:
    quote = connection.ops.quote_name
    fields = _insert_fields()
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table, columns = quote(Event._meta.db_table), ", ".join(quote(f.column) for f in fields)
    values, key = ", ".join([row] * count), quote(Event._meta.get_field("event_id").column)
    # Names come from the model's meta; every value is a bound parameter.
    return f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT ({key}) DO NOTHING"  # noqa: S608


def reclassify(event: Event, *, now: datetime | None = None) -> Event:
    """Reads a stored event again from its raw text (after an admin fixed a registry's host name, say)
    and sets its columns and status as if it had just arrived. Saves nothing."""
    now = now or timezone.now()
    try:
        payload = json.loads(event.raw)
    except (ValueError, RecursionError):
        event.status, event.last_error = Event.Status.FLAGGED, "the body is not JSON"
        return event
    parsed = parse_event(payload)
    if event.registry_authenticated:
        # Sent with that registry's own secret: its request.host does not choose another one now.
        registry = event.registry
        status, reason = classify(parsed, registry, missing="the registry that sent it has been deleted")
    else:
        registry = Registry.for_host(parsed.request_host)
        status, reason = classify(parsed, registry)
    for name in ("action", "repository", "tag", "digest", "media_type", "actor", "request_host"):
        setattr(event, name, getattr(parsed, name))
    event.registry = registry
    event.timestamp = event_time(parsed.timestamp, event.received_at or now)
    event.status, event.last_error = status, reason
    event.processed_at = now if status == Event.Status.IGNORED else None
    return event
