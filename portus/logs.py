"""Log lines that can be followed: a request id on every line, and JSON lines when `logging.json` is on.

Each HTTP request gets an id (the `X-Request-Id` a proxy in front sent, when it looks like one, else a
new one), answered in the `X-Request-Id` header and put on every line logged while it is handled. Code
that works on something with ids of its own (a background process on a registry event) binds them with
`log_context(...)`, and they appear on every line logged inside. Fields given as `extra={"fields": {...}}`
are added to that one line. README ("Following a push through the logs") shows the chain.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}\Z")  # what a proxy's id looks like; anything else is replaced

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("portus_log_context", default=None)


def new_request_id() -> str:
    return secrets.token_hex(12)


def current() -> dict[str, Any]:
    return _context.get() or {}


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Adds `fields` to every line logged inside (nested contexts add to the outer one)."""
    token = _context.set({**current(), **{k: v for k, v in fields.items() if v not in (None, "")}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Puts `request_id` (or '-') and the bound fields on every record, for both formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = current()
        record.request_id = bound.get("request_id", "-")
        record.context = bound
        return True


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "context"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound fields, the line's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "context", None) or {})
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "fields" and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """The classic line, with the request id and the line's own fields as key=value at the end."""

    _second: tuple[int, str] | None = None  # the last second's text, shared by the lines within it

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """logging.Formatter's own text, with the date and time of a second made once for all its lines
        (a token or a notification logs a line each: thousands within a second)."""
        if datefmt or not self.default_msec_format:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached = self._second
        if cached is None or cached[0] != second:
            cached = self._second = (second, time.strftime(self.default_time_format, self.converter(second)))
        return self.default_msec_format % (cached[1], record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        bound = {k: v for k, v in (getattr(record, "context", None) or {}).items() if k != "request_id"}
        fields = getattr(record, "fields", None)
        extra = {**bound, **(fields if isinstance(fields, dict) else {})}
        if extra:
            text += " " + " ".join(f"{key}={value}" for key, value in extra.items())
        return text


class RequestIdMiddleware:
    """Gives each request an id, on every line logged while it is handled and in `X-Request-Id`."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get(REQUEST_ID_HEADER, "")
        request_id = offered if _ACCEPTED_ID.match(offered) else new_request_id()
        request.request_id = request_id
        with log_context(request_id=request_id):
            response = self.get_response(request)
        response["X-Request-Id"] = request_id
        return response
