"""The ingest ceiling: a bare WSGI app that takes a notification POST, checks its bearer secret, parses the
envelope and stores each event durably and deduplicated (one `INSERT … ON CONFLICT DO NOTHING` of all its
events, committed before the 202), and nothing else.

It runs under the same gunicorn settings as Portus, against the same database, so the ratio Portus /
ceiling says what everything around the durable insert costs: Django's request, the registry's secret
looked up, the inbox row's fields (mirror/inbox.py), the log line. It never touches Django. Its table is
its own (`bench_ingest_ceiling`), made when it starts."""

from __future__ import annotations

import hmac
import json
import os
import threading
from datetime import UTC, datetime

_URL = os.environ["BENCH_DATABASE_URL"]
_SECRET = ("Bearer " + os.environ["BENCH_NOTIFICATION_SECRET"]).encode()
_MAX_BODY = 1024 * 1024
_local = threading.local()
_TABLE = ("CREATE TABLE IF NOT EXISTS bench_ingest_ceiling (event_id varchar(255) PRIMARY KEY, "
          "body text NOT NULL, received_at timestamp with time zone NOT NULL)")


def _connection():
    conn = getattr(_local, "conn", None)
    if conn is None:
        if _URL.startswith("sqlite:///"):
            import sqlite3

            conn = sqlite3.connect(_URL[len("sqlite:///"):], timeout=20, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _local.mark, _local.sqlite = "?", True
        else:
            import psycopg2

            conn = psycopg2.connect(_URL)
            _local.mark, _local.sqlite = "%s", False
        cursor = conn.cursor()
        cursor.execute(_TABLE)
        if not _local.sqlite:
            conn.commit()
        _local.conn = conn
    return conn


def _store(events: list) -> None:
    conn = _connection()
    mark, now = _local.mark, datetime.now(UTC).isoformat()
    rows = [(str(e.get("id", ""))[:255], json.dumps(e), now) for e in events if isinstance(e, dict)]
    if not rows:
        return
    values = ", ".join(f"({mark}, {mark}, {mark})" for _ in rows)
    # Only placeholders are joined in; every value is a parameter.
    sql = f"INSERT INTO bench_ingest_ceiling (event_id, body, received_at) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608
    params = [value for row in rows for value in row]
    cursor = conn.cursor()
    if _local.sqlite:
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(sql, params)
        cursor.execute("COMMIT")
    else:
        cursor.execute(sql, params)
        conn.commit()


def _answer(start_response, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    if environ.get("REQUEST_METHOD") != "POST":
        return _answer(start_response, "200 OK", b"{}")
    if not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", "").encode(), _SECRET):
        return _answer(start_response, "401 Unauthorized", b'{"error": "unauthorized"}')
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 < length <= _MAX_BODY:
        return _answer(start_response, "413 Request Entity Too Large", b'{"error": "size"}')
    try:
        envelope = json.loads(environ["wsgi.input"].read(length))
        events = envelope["events"] if isinstance(envelope, dict) and isinstance(envelope.get("events"), list) else None
    except ValueError:
        events = None
    if events is None:
        return _answer(start_response, "400 Bad Request", b'{"error": "not an envelope"}')
    _store(events[:1000])
    return _answer(start_response, "202 Accepted", b'{"stored": true}')
