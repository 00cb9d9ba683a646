"""Querysets compiled once, run many times: the ORM's answer without the ORM's cost on a hot path.

Building a queryset, resolving its lookups and compiling it to SQL costs the token endpoint more than
the statement itself (≈ 0.5–1 ms of Python each, against ≈ 0.1 ms for the database). `OneRow` builds
the queryset once per thread and connection, with a marker for each value that changes from call to
call, keeps the SQL and what the ORM needs to turn a row into objects (select_related included), and
afterwards only binds the values, executes and materialises, exactly as `QuerySet.first()` would:
the same SQL, the same converters, `Model.from_db` and the same related populators. Queries go
through `connection.cursor()`, so they are counted and logged like any other.

On PostgreSQL, `execute` (used by `OneRow` and by the other hot statements) runs a statement as a
server-side prepared statement: PREPARE once per database connection, then EXECUTE, so the server plans
it once instead of on every request (measured: ≈ 0.15–0.2 ms of server CPU per statement down to
≈ 0.03–0.04). While queries are being logged (DEBUG, or a test capturing them) statements are sent as
they are, so that the log shows each statement itself rather than `EXECUTE portus_3(…)`. Behind a
pooler in transaction mode (PgBouncer), where a session's prepared statements are not there on the
next transaction, set `DISABLE_SERVER_SIDE_CURSORS` as Django asks for that case: then statements are
sent as they are.

Only for querysets whose SQL does not depend on the values (a filter on a column is fine; a value
that turns into `IS NULL` or an empty `IN` is not: the build function must not branch on them).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

_PLACEHOLDER_RE = re.compile(r"%s|%%")


def _numbered(sql: str) -> str:
    """Django's `%s` placeholders as PostgreSQL's `$1, $2, …` (and `%%` as `%`)."""
    count = 0

    def number(match: re.Match) -> str:
        nonlocal count
        if match.group() == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER_RE.sub(number, sql)


def execute(cursor, sql: str, params: list) -> None:
    """`cursor.execute(sql, params)` on Django's cursor; on PostgreSQL a prepared statement, made on the
    connection's first use of `sql` (a new connection, after a reconnect, prepares again)."""
    db = cursor.db
    if db.vendor != "postgresql" or db.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS") or db.queries_logged:
        cursor.execute(sql, params)
        return
    raw = db.connection
    state = getattr(db, "_portus_prepared", None)
    if state is None or state[0] is not raw:
        state = db._portus_prepared = (raw, {})
    name = state[1].get(sql)
    if name is None:
        name = f"portus_{len(state[1]) + 1}"
        with raw.cursor() as setup:
            setup.execute(f"PREPARE {name} AS {_numbered(sql)}")
        state[1][sql] = name
    cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {name}", params)


TEXT, INTEGER, MOMENT = "text", "integer", "datetime"


def _marker(kind: str, n: int, salt: int):
    """A parameter value that can only have come from the build call."""
    if kind == INTEGER:
        return -(10**15) - n * 10**6 - salt % 10**6
    if kind == MOMENT:
        return datetime(1111, 1, 1 + n, 1, 1, 1, salt % 1_000_000, tzinfo=UTC)
    return f"\x00portus-prepared-{n}-{salt}\x00"


class OneRow:
    """`build(**markers)` → a queryset; `get(**values)` → its first object, or None.

    `kinds` names each value and says what it is: TEXT (compared with a text column), INTEGER (a key)
    or MOMENT (an aware datetime compared with a DateTimeField, adapted for the database as the ORM
    adapts it)."""

    def __init__(self, build: Callable[..., QuerySet], using: str = "default", **kinds: str) -> None:
        self._build = build
        self._kinds = kinds
        self._using = using
        self._local = threading.local()

    @staticmethod
    def _adapt(connection, kind: str, value):
        return connection.ops.adapt_datetimefield_value(value) if kind == MOMENT else value

    def _compiled(self, connection) -> tuple:
        cached = getattr(self._local, "compiled", None)
        if cached is not None and cached[0] is connection:
            return cached
        markers = {name: _marker(kind, n, id(self)) for n, (name, kind) in enumerate(self._kinds.items())}
        queryset = self._build(**markers)
        if not queryset.ordered:
            queryset = queryset.order_by("pk")
        query = queryset[:1].query
        compiler = query.get_compiler(using=self._using)
        sql, params = compiler.as_sql()
        by_marker = {self._adapt(connection, self._kinds[name], marker): name for name, marker in markers.items()}
        slots = []
        for value in params:
            name = by_marker.get(value) if isinstance(value, (str, int, datetime)) else None
            slots.append((True, name) if name is not None else (False, value))
        missing = set(self._kinds) - {name for bound, name in slots if bound}
        if missing:
            raise ValueError(f"not bound as plain parameters: {sorted(missing)}")
        select, klass_info, annotations = compiler.select, compiler.klass_info, compiler.annotation_col_map
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        converters = compiler.get_converters([column[0] for column in select[:compiler.col_count]])
        cached = (connection, sql, tuple(slots), klass_info["model"], start, end, init_list,
                  get_related_populators(klass_info, select, self._using), dict(annotations or {}), converters,
                  compiler)
        self._local.compiled = cached
        return cached

    def get(self, **values: Any):
        connection = connections[self._using]
        (_, sql, slots, model, start, end, init_list, populators, annotations, converters,
         compiler) = self._compiled(connection)
        params = [self._adapt(connection, self._kinds[name], values[name]) if bound else name
                  for bound, name in slots]
        with connection.cursor() as cursor:
            execute(cursor, sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = next(compiler.apply_converters([row], converters))
        obj = model.from_db(self._using, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations.items():
            setattr(obj, name, row[position])
        return obj
