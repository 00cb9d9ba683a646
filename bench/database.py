"""A database of the bench's own, so that a run never touches the configured one: a fresh PostgreSQL
database beside the configured one when DATABASE_URL names PostgreSQL, else a SQLite file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse


@contextlib.contextmanager
def own_database(workdir: Path, label: str) -> Iterator[tuple[str, str]]:
    """(DATABASE_URL, vendor) of a new empty database, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{workdir / f'{label}.sqlite3'}", "sqlite"
        return
    import psycopg2

    parsed = urlparse(url)
    name = f"portus_bench_{label}_{os.getpid()}"
    admin = urlunparse(parsed._replace(path="/postgres"))

    def execute(sql: str) -> None:
        conn = psycopg2.connect(admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    execute(f'DROP DATABASE IF EXISTS "{name}"')
    execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(parsed._replace(path=f"/{name}")), "postgresql"
    finally:
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
