"""A database of the bench's own, so that a run never touches the configured one: a fresh PostgreSQL
database beside the configured one when DATABASE_URL names PostgreSQL, else a SQLite file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse


def new_database(workdir: Path, label: str, *, prefix: str = "portus_bench",
                 sqlite_name: str | None = None) -> tuple[str, str, Callable[[], None]]:
    """(DATABASE_URL, vendor, drop) of a new empty database: `<prefix>_<label>_<pid>` on the PostgreSQL
    server DATABASE_URL names (`drop` removes it), else a SQLite file in `workdir`. The end-to-end
    tests make their stacks' databases with it too."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / (sqlite_name or f'{label}.sqlite3')}", "sqlite", lambda: None
    import psycopg2

    parsed = urlparse(url)
    name = f"{prefix}_{label}_{os.getpid()}"
    admin = urlunparse(parsed._replace(path="/postgres"))

    def execute(sql: str) -> None:
        conn = psycopg2.connect(admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    execute(f'DROP DATABASE IF EXISTS "{name}"')
    execute(f'CREATE DATABASE "{name}"')
    return (urlunparse(parsed._replace(path=f"/{name}")), "postgresql",
            lambda: execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def own_database(workdir: Path, label: str) -> Iterator[tuple[str, str]]:
    """(DATABASE_URL, vendor) of a new empty database, dropped afterwards."""
    url, vendor, drop = new_database(workdir, label)
    try:
        yield url, vendor
    finally:
        drop()


def server_version(url: str) -> str:
    if not url.startswith(("postgres://", "postgresql://")):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            return f"PostgreSQL {cur.fetchone()[0].split()[0]}"
    finally:
        conn.close()
