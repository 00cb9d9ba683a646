"""The authorization generation: a number that every change to what a token decision reads replaces.

The token endpoint remembers verified credentials and decisions (realm/decisions.py) under this number:
an entry made under another number is not used. Each process reads it at most
`token_realm.generation_max_age_ms` apart (`recent_both`; 0: before every request, `current_both`). So a
revoked token, a removed member, a changed password, a disabled account or a new grant is refused on
every worker and host once that long has passed since it committed (100 ms as shipped), or at the very
next request with 0 — the cache only saves the reading and the computing, never the check.

The number is changed by database triggers, not by application code, so that nothing can change a
watched table without changing it: a queryset's `update()`, a raw statement, the admin's shell, a
migration. Each watched table has a trigger for inserts and deletes and one for updates that changes the
number unless only harmless columns changed (a token's last use, a sign-in time): so every column added
later counts, until someone lists it as harmless here. The refresh tokens change a second number of
their own (row 2), which only what is remembered about refresh tokens is kept under, and their inserts
count for nothing (COUNTERS, _INSERTS_HARMLESS say why); the token endpoint reads both numbers in one
statement (`current_both`).

- PostgreSQL: constraint triggers, deferred to the commit, so that the single row is always the last
  thing a transaction locks (no lock-order deadlock with anything), taking the new number from a
  sequence (never handed out twice, even to a transaction that rolled back), once per transaction.
  Inside an atomic block (tests, an in-process caller) `current()` first makes the pending ones fire,
  so that it sees the transaction's own changes, and lets the next change renew the number again.
- SQLite: plain triggers that write a random 64-bit number.

The triggers are (re)made after every `migrate` (a table rebuilt by a migration loses its triggers), and
making them changes the number. A process checks that they are all there when it starts and every few
seconds after; while they are not, nothing is remembered (`triggers_ready()` is False).

The watched tables are those of accounts.credentials and the policy (users, application tokens, refresh
tokens, teams and members, namespaces, grants, registries); apps that plug a check into the credentials add theirs with
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
# The numbers, one row each: 1 for everything watched, 2 for the refresh tokens alone (COUNTERS).
AUTHORIZATION, REFRESH_TOKENS = 1, 2


# The statements, written out (every name in them is one of the constants above).
_BUMPS = {
    (AUTHORIZATION, False): "UPDATE realm_authorization_generation "
                            "SET value = nextval('realm_authorization_generation_seq') WHERE id = 1",
    (REFRESH_TOKENS, False): "UPDATE realm_authorization_generation "
                             "SET value = nextval('realm_authorization_generation_seq') WHERE id = 2",
    (AUTHORIZATION, True): "UPDATE realm_authorization_generation SET value = random() WHERE id = 1",
    (REFRESH_TOKENS, True): "UPDATE realm_authorization_generation SET value = random() WHERE id = 2",
}


def _bump_sql(counter: int, *, sqlite: bool) -> str:
    return _BUMPS[(counter, sqlite)]


def _function(counter: int) -> str:
    return FUNCTION if counter == AUTHORIZATION else f"{FUNCTION}_{int(counter)}"


def _flag(counter: int) -> str:
    return "portus.authz_bumped" if counter == AUTHORIZATION else f"portus.authz_bumped_{int(counter)}"


# Once per transaction and number (a transaction-local flag): a commit that changed 20,000 watched rows
# would otherwise write the one row 20,000 times, each write a new version of it to walk past.
def _function_sql(counter: int) -> str:
    flag = _flag(counter)
    return (f"CREATE OR REPLACE FUNCTION {_function(counter)}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF current_setting('{flag}', true) IS DISTINCT FROM 'yes' THEN "
            f"PERFORM set_config('{flag}', 'yes', true); "
            + _bump_sql(counter, sqlite=False) + "; END IF; RETURN NULL; END $$")


# After a read inside a transaction, that transaction's next change must renew the numbers again.
_REARM = ("SELECT set_config('portus.authz_bumped', '', true), "
          f"set_config('{_flag(REFRESH_TOKENS)}', '', true)")
_FIRST_ROWS = ["INSERT INTO realm_authorization_generation (id, value) SELECT 1, 0 WHERE NOT EXISTS "
               "(SELECT 1 FROM realm_authorization_generation WHERE id = 1)",
               "INSERT INTO realm_authorization_generation (id, value) SELECT 2, 0 WHERE NOT EXISTS "
               "(SELECT 1 FROM realm_authorization_generation WHERE id = 2)"]

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
    # Its use, recorded at most once a minute, slides its idle expiry: the remembered entry ends at the
    # expiry it saw (realm/token.py), earlier than the row's, never later.
    "accounts.RefreshToken": frozenset({"last_used_at"}),
}


# Tables whose new rows change nothing remembered: only a row found is ever remembered, so no entry can
# stand for a row that did not exist yet. A refresh token is minted by every offline `docker login`; were
# its inserts counted, a fleet's logins would make every worker forget what it remembers.
_INSERTS_HARMLESS: set[str] = {"accounts.RefreshToken"}
# Tables that change a number of their own. Minting a refresh token past a user's limit deletes their
# least recently used one (a CI account logging in for every job does so at every login): that must end a
# remembered refresh token at once, but it changes no credential or decision of anyone else, which the
# first number alone would have made every worker forget.
COUNTERS: dict[str, int] = {"accounts.RefreshToken": REFRESH_TOKENS}


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


def _name(table: str, kind: str, columns: list[str], counter: int = AUTHORIZATION) -> str:
    """A trigger's name carries a digest of what it compares and which number it changes: a changed model
    gives a new name, which the check finds missing until `install` runs."""
    counted = "" if counter == AUTHORIZATION else f"|{counter}"
    digest = hashlib.sha256(f"{table}|{kind}|{','.join(columns)}{counted}".encode()).hexdigest()[:10]
    return f"{PREFIX}{digest}_{kind}"


def expected() -> dict[str, tuple[str, str, list[str]]]:
    """Trigger name → (table, kind, compared columns); kind "id" for inserts and deletes ("d" for deletes
    alone, where inserts are harmless), "u" for updates."""
    return {name: spec[:3] for name, spec in _expected().items()}


def _expected() -> dict[str, tuple[str, str, list[str], int]]:
    """As `expected`, with the number each trigger changes."""
    names = {}
    for label in sorted(_WATCHED):
        table, columns = _columns(label)
        kind = "d" if label in _INSERTS_HARMLESS else "id"
        counter = COUNTERS.get(label, AUTHORIZATION)
        names[_name(table, kind, [], counter)] = (table, kind, [], counter)
        names[_name(table, "u", columns, counter)] = (table, "u", columns, counter)
    return names


_EVENTS = {"id": "INSERT OR DELETE", "d": "DELETE", "u": "UPDATE"}


def _changed(columns: list[str], quote, *, sqlite: bool) -> str:
    if sqlite:
        return " OR ".join(f"OLD.{quote(c)} IS NOT NEW.{quote(c)}" for c in columns)
    return " OR ".join(f"OLD.{quote(c)} IS DISTINCT FROM NEW.{quote(c)}" for c in columns)


def _statements(conn) -> list[str]:
    quote = conn.ops.quote_name
    sqlite = conn.vendor == "sqlite"
    statements: list[str] = []
    if not sqlite:
        statements.extend(_function_sql(counter) for counter in (AUTHORIZATION, REFRESH_TOKENS))
    for name, (table, kind, columns, counter) in _expected().items():
        events = _EVENTS[kind]
        when = f" WHEN ({_changed(columns, quote, sqlite=sqlite)})" if kind == "u" and columns else ""
        if sqlite:
            for event in events.split(" OR "):
                # SQLite takes one event per trigger: the insert and delete halves get their own names.
                full = name if kind == "u" else f"{name}_{event[0].lower()}"
                statements.append(f"CREATE TRIGGER {full} AFTER {event} ON {quote(table)}{when} "
                                  f"BEGIN {_bump_sql(counter, sqlite=True)}; END")
        else:
            statements.append(f"CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {quote(table)} "
                              f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW{when} "
                              f"EXECUTE FUNCTION {_function(counter)}()")
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
        wanted |= {name} if kind == "u" else {f"{name}_{event[0].lower()}" for event in _EVENTS[kind].split(" OR ")}
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
            for statement in _FIRST_ROWS:
                cursor.execute(statement)
            bump(cursor, conn)
            bump(cursor, conn, counter=REFRESH_TOKENS)
    _state.checked_at = 0.0  # look again at the next request
    return len(wanted_names(conn))


def bump(cursor=None, conn=None, *, counter: int = AUTHORIZATION) -> None:
    """A new number now (after the triggers were made; tests)."""
    conn = conn or default_connection
    own = cursor is None
    cursor = cursor or conn.cursor()
    try:
        cursor.execute(_bump_sql(counter, sqlite=conn.vendor != "postgresql"))
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
_READ_BOTH = "SELECT id, value FROM realm_authorization_generation WHERE id IN (1, 2)"


def _read(conn, sql: str) -> list:
    if not triggers_ready(conn):
        return []
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql" and conn.in_atomic_block:
            # Make this transaction's own deferred changes count before reading.
            cursor.execute(f"SET CONSTRAINTS {', '.join(sorted(wanted_names(conn)))} IMMEDIATE; {_REARM}")
        execute(cursor, sql, [])
        return cursor.fetchall()


def current(conn=None) -> int | None:
    """The number now, as this connection sees it; None when it cannot be trusted (triggers missing)."""
    rows = _read(conn or default_connection, _READ)
    return int(rows[0][0]) if rows else None


def current_both(conn=None) -> tuple[int, int] | None:
    """(the number, the refresh tokens' number) now, in one statement; None when they cannot be trusted."""
    values = dict(_read(conn or default_connection, _READ_BOTH))
    if AUTHORIZATION not in values or REFRESH_TOKENS not in values:
        return None
    return int(values[AUTHORIZATION]), int(values[REFRESH_TOKENS])


class _Recent:
    """This process's last read of both numbers for the token endpoint: (the moment it was sent, the
    numbers), one tuple replaced whole, so that a thread never pairs one read's moment with another's."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: tuple[float, tuple[int, int]] | None = None

    def forget(self, **_) -> None:
        with self.lock:
            self.last = None


_recent = _Recent()
forget_recent = _recent.forget
_clock = time.monotonic


def recent_both(max_age: float) -> tuple[int, int] | None:
    """Both numbers (as `current_both`) from this process's last read when it was sent less than `max_age`
    seconds ago, else read now on the default connection. A change that committed before a read was sent
    is in what it returns; so one that committed `max_age` ago or more is in every answer here, on every
    process. 0, or inside an atomic block (which must see its own changes), reads every time."""
    conn = default_connection
    if max_age <= 0 or conn.in_atomic_block:
        return current_both(conn)
    now = _clock()
    last = _recent.last
    if last is not None and now - last[0] < max_age:
        return last[1]
    values = current_both(conn)
    if values is not None:
        with _recent.lock:
            if _recent.last is None or now >= _recent.last[0]:  # never replace a later read by an earlier one
                _recent.last = (now, values)
    return values
