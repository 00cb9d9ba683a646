"""The short way through for the machine-to-machine endpoints that carry the load.

A registry posts one notification per event, and every one of them used to cross the whole Django
stack: URL resolution, the request signals (whose connection health check is a `SELECT 1` on every
request), sessions, CSRF, authentication and messages middleware — none of which such a request uses.
`LeanRoutes` sits in front of Django's WSGI handler and sends the few exact paths it knows straight to
their view, keeping what the answer depends on:

- the Host header is validated against ALLOWED_HOSTS as Django does (400 otherwise);
- the response passes through the same response-side middleware as any other (security headers, the
  Content-Security-Policy, X-Frame-Options) and gets its Content-Length, so the answer is Django's
  (a test compares them);
- an exception becomes Django's own 500 answer, logged by `django.request`;
- the thread's database connection is kept between requests, and closed as Django would close it: when
  older than CONN_MAX_AGE, after an error made it unusable, or when the view failed. A connection that
  the server dropped is found by the error it raises, not by a probe before every request.

Everything else goes to Django unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

View = Callable[[HttpRequest], HttpResponse]

# Middleware that shapes an answer or its logs (the request id), taken in settings.MIDDLEWARE order.
RESPONSE_MIDDLEWARE = (
    "portus.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
# Served by its subclass that builds the (constant) policy once rather than on every answer.
CSP_MIDDLEWARE = "csp.middleware.CSPMiddleware"


def _wrapped(view: View) -> View:
    """The view inside the response-side middleware of MIDDLEWARE, outermost first."""
    from django.conf import settings

    from portus.csp import ConstantPolicyCSPMiddleware

    handler = view
    for path in reversed([p for p in settings.MIDDLEWARE if p in RESPONSE_MIDDLEWARE]):
        middleware = ConstantPolicyCSPMiddleware if path == CSP_MIDDLEWARE else import_string(path)
        handler = middleware(handler)
    return handler


# The embedded database's connections are not kept by Django (CONN_MAX_AGE 0 in portus/settings.py), and a
# new one with its PRAGMAs costs ≈ 0.75 ms, more than the rest of a token request's queries: the short
# way keeps its own for this long. Nothing is cached with it (each statement reads the file afresh, in
# WAL mode, and no transaction stays open between requests), so other processes' writes are seen at once.
SQLITE_KEEP_SECONDS = 60.0


def _tidy_connections() -> None:
    """Django's close_old_connections without the health check: close what is past its age or broken."""
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block or conn.connection is None:
            continue
        if conn.errors_occurred:
            conn.close_if_unusable_or_obsolete()
        elif conn.close_at is not None:
            # SQLite: close_at is the moment it connected (CONN_MAX_AGE 0).
            keep = SQLITE_KEEP_SECONDS if conn.vendor == "sqlite" and conn.settings_dict["CONN_MAX_AGE"] == 0 else 0
            if now >= conn.close_at + keep:
                conn.close_if_unusable_or_obsolete()


class LeanRoutes:
    """WSGI app: `routes` (exact PATH_INFO → dotted view path) served directly, the rest by `django_app`."""

    def __init__(self, django_app, routes: dict[str, str]) -> None:
        self.django_app = django_app
        self._routes = routes
        self._handlers: dict[str, View] = {}

    def _handler(self, path: str) -> View | None:
        handler = self._handlers.get(path)
        if handler is None and path in self._routes:
            handler = self._handlers[path] = _wrapped(import_string(self._routes[path]))
        return handler

    def __call__(self, environ, start_response):
        handler = self._handler(environ.get("PATH_INFO", ""))
        if handler is None:
            return self.django_app(environ, start_response)
        request = WSGIRequest(environ)
        try:
            request.get_host()
            response = handler(request)
        except DisallowedHost as exc:
            response = response_for_exception(request, exc)
        except Exception as exc:  # noqa: BLE001 - answered and logged as Django would
            response = response_for_exception(request, exc)
            for conn in connections.all(initialized_only=True):
                conn.close_if_unusable_or_obsolete()
        _tidy_connections()
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))  # as CommonMiddleware does
        status = f"{response.status_code} {response.reason_phrase}"
        headers = [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
        start_response(status, headers)
        return [response.content]
