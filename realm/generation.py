"""The authorization generation: a number that every change to what a token decision reads replaces.

The token endpoint remembers verified credentials and decisions (realm/decisions.py), and reads this
number on every request: an entry made under another number is not used. So a revoked token, a removed
member, a changed password, a disabled account or a new grant is refused on the very next request, on
every worker and host, as before — the cache only saves the reading and the computing, never the check.

The number is changed by database triggers, not by application code, so that nothing can change a
watched table without changing it: a queryset's `update()`, a raw statement, the admin's shell, a
migration. Each watched table has a trigger for inserts and deletes and one for updates that changes the
number unless only harmless columns changed (a token's last use, a sign-in time): so every column added
later counts, until someone lists it as harmless here.

- PostgreSQL: constraint triggers, deferred to the commit, so that the single row is always the last
  thing a transaction locks (no lock-order deadlock with anything), taking the new number from a
  sequence (never handed out twice, even to a transaction that rolled back), once per transaction.
  Inside an atomic block (tests, an in-process caller) `current()` first makes the pending ones fire,
  so that it sees the transaction's own changes, and lets the next change renew the number again.
- SQLite: plain triggers that write a random 64-bit number.

The triggers are (re)made after every `migrate` (a table rebuilt by a migration loses its triggers), and
making them changes the number. A process checks that they are all there when it starts and every few
seconds after; while they are not, nothing is remembered (`triggers_ready()` is False).

The watched tables are those of accounts.credentials and the policy (users, application tokens, teams
and members, namespaces, grants, registries); apps that plug a check into the credentials add theirs with
`watch()` when Django starts (two factors, LDAP).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from django.apps import apps
from django.db import connection as default_connection
from django.db import transaction

from portus.prepared import execute

log = logging.getLogger(__name__)

SEQUENCE = "realm_authorization_generation_seq"
PREFIX = "portus_authz_"
FUNCTION = "portus_authz_bump"
CHECK_EVERY_SECONDS = 5.0
# The statements, written out (every name in them is one of the constants above).
_BUMP_POSTGRESQL = ("UPDATE realm_authorization_generation SET value = nextval('realm_authorization_generation_seq') "
                    "WHERE id = 1")
_BUMP_SQLITE = "UPDATE realm_authorization_generation SET value = random() WHERE id = 1"
# Once per transaction (a transaction-local flag): a commit that changed 20,000 watched rows would
# otherwise write the one row 20,000 times, each write a new version of it to walk past.
_FUNCTION_SQL = ("CREATE OR REPLACE FUNCTION portus_authz_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                 "IF current_setting('portus.authz_bumped', true) IS DISTINCT FROM 'yes' THEN "
                 "PERFORM set_config('portus.authz_bumped', 'yes', true); "
                 + _BUMP_POSTGRESQL + "; END IF; RETURN NULL; END $$")
# After a read inside a transaction, that transaction's next change must renew the number again.
_REARM = "SELECT set_config('portus.authz_bumped', '', true)"
_FIRST_ROW = ("INSERT INTO realm_authorization_generation (id, value) SELECT 1, 0 WHERE NOT EXISTS "
              "(SELECT 1 FROM realm_authorization_generation WHERE id = 1)")

# Model label → the columns whose change alone does not change any decision.
_WATCHED: dict[str, frozenset[str]] = {
    "accounts.User": frozenset({"last_login", "current_sign_in_at", "updated_at", "failed_attempts", "locked_at",
                                "display_name"}),
    "accounts.ApplicationToken": frozenset({"last_used_at", "last_used_from"}),
    "teams.Team": frozenset({"updated_at", "description", "ldap_group_checked_at"}),
    "teams.TeamMember": frozenset({"updated_at"}),
    "namespaces.Namespace": frozenset({"updated_at", "description"}),
    "grants.RepositoryGrant": frozenset({"updated_at"}),
    "registries.Registry": frozenset({"updated_at", "last_sync_at", "last_sync_error", "last_sync_outcome",
                                      "last_sync_summary"}),
}


def watch(label: str, *, harmless: frozenset[str] | set[str] = frozenset()) -> None:
    """Adds a table whose rows a credential check or the policy reads (`app_label.Model`)."""
    _WATCHED[label] = frozenset(harmless)


def watched() -> dict[str, frozenset[str]]:
    return dict(_WATCHED)


def _columns(label: str) -> tuple[str, list[str]]:
    """(table, the columns whose change counts), from the model as it is now."""
    model = apps.get_model(label)
    harmless = _WATCHED[label]
    unknown = harmless - {f.name for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{label}: no such fields {sorted(unknown)} (realm/generation.py)")
    counted = [f.column for f in model._meta.concrete_fields if f.name not in harmless]
    return model._meta.db_table, counted


def _name(table: str, kind: str, columns: list[str]) -> str:
    """A trigger's name carries a digest of what it compares: a changed model gives a new name, which the
    check finds missing until `install` runs."""
    digest = hashlib.sha256(f"{table}|{kind}|{','.join(columns)}".encode()).hexdigest()[:10]
    return f"{PREFIX}{digest}_{kind}"


def expected() -> dict[str, tuple[str, str, list[str]]]:
    """Trigger name → (table, "iud" or "u", compared columns)."""
    names = {}
    for label in sorted(_WATCHED):
        table, columns = _columns(label)
        names[_name(table, "id", [])] = (table, "id", [])
        names[_name(table, "u", columns)] = (table, "u", columns)
    return names


def _changed(columns: list[str], quote, *, sqlite: bool) -> str:
    if sqlite:
        return " OR ".join(f"OLD.{quote(c)} IS NOT NEW.{quote(c)}" for c in columns)
    return " OR ".join(f"OLD.{quote(c)} IS DISTINCT FROM NEW.{quote(c)}" for c in columns)


def _statements(conn) -> list[str]:
    quote = conn.ops.quote_name
    sqlite = conn.vendor == "sqlite"
    statements: list[str] = []
    if not sqlite:
        statements.append(_FUNCTION_SQL)
    bump = _BUMP_SQLITE
    for name, (table, kind, columns) in expected().items():
        events = "UPDATE" if kind == "u" else "INSERT OR DELETE"
        when = f" WHEN ({_changed(columns, quote, sqlite=sqlite)})" if kind == "u" and columns else ""
        if sqlite:
            for event in events.split(" OR "):
                # SQLite takes one event per trigger: the insert and delete halves get their own names.
                full = name if kind == "u" else f"{name}_{event[0].lower()}"
                statements.append(f"CREATE TRIGGER {full} AFTER {event} ON {quote(table)}{when} "
                                  f"BEGIN {bump}; END")
        else:
            statements.append(f"CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {quote(table)} "
                              f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW{when} EXECUTE FUNCTION {FUNCTION}()")
    return statements


def _present(conn) -> dict[str, str]:
    """Our triggers in the database: name → table."""
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                           [PREFIX + "%"])
        else:
            cursor.execute("SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                           "WHERE t.tgname LIKE %s", [PREFIX + "%"])
        return dict(cursor.fetchall())


def _sqlite_names(names) -> set[str]:
    wanted = set()
    for name, (_, kind, _) in names.items():
        wanted |= {name} if kind == "u" else {f"{name}_i", f"{name}_d"}
    return wanted


def wanted_names(conn=None) -> set[str]:
    conn = conn or default_connection
    names = expected()
    return _sqlite_names(names) if conn.vendor == "sqlite" else set(names)


def install(conn=None) -> int:
    """Drops our triggers and makes them anew from the models; changes the number. Returns how many."""
    conn = conn or default_connection
    if conn.vendor not in ("sqlite", "postgresql"):
        return 0
    quote = conn.ops.quote_name
    with transaction.atomic(using=conn.alias):
        present = _present(conn)
        with conn.cursor() as cursor:
            if conn.vendor == "postgresql":
                cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")
            for name, table in present.items():
                if conn.vendor == "sqlite":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quote(table)}")
            statements = _statements(conn)
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(_FIRST_ROW)
            bump(cursor, conn)
    _state.checked_at = 0.0  # look again at the next request
    return len(wanted_names(conn))


def bump(cursor=None, conn=None) -> None:
    """A new number now (after the triggers were made; tests)."""
    conn = conn or default_connection
    own = cursor is None
    cursor = cursor or conn.cursor()
    try:
        cursor.execute(_BUMP_POSTGRESQL if conn.vendor == "postgresql" else _BUMP_SQLITE)
    finally:
        if own:
            cursor.close()


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = 0.0
        self.ready = False
        self.warned = False


_state = _State()


def triggers_ready(conn=None) -> bool:
    """Whether every trigger is in place (looked at every CHECK_EVERY_SECONDS per process)."""
    conn = conn or default_connection
    now = time.monotonic()
    if now - _state.checked_at < CHECK_EVERY_SECONDS:
        return _state.ready
    with _state.lock:
        if now - _state.checked_at < CHECK_EVERY_SECONDS:
            return _state.ready
        try:
            missing = wanted_names(conn) - set(_present(conn)) if conn.vendor in ("sqlite", "postgresql") else {"*"}
        except Exception:  # noqa: BLE001 - no answer is no cache; the request itself goes on
            log.exception("authorization generation: could not look for its triggers")
            missing = {"?"}
        _state.ready = not missing
        _state.checked_at = now
        if missing and not _state.warned:
            _state.warned = True
            log.warning("authorization generation: %d trigger(s) missing (run manage.py migrate): the token "
                        "endpoint remembers nothing until they are there", len(missing))
        elif not missing:
            _state.warned = False
    return _state.ready


def forget_check() -> None:
    _state.checked_at = 0.0


_READ = "SELECT value FROM realm_authorization_generation WHERE id = 1"


def current(conn=None) -> int | None:
    """The number now, as this connection sees it; None when it cannot be trusted (triggers missing)."""
    conn = conn or default_connection
    if not triggers_ready(conn):
        return None
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql" and conn.in_atomic_block:
            # Make this transaction's own deferred changes count before reading.
            cursor.execute(f"SET CONSTRAINTS {', '.join(sorted(wanted_names(conn)))} IMMEDIATE; {_REARM}")
        execute(cursor, _READ, [])
        row = cursor.fetchone()
    return None if row is None else int(row[0])
