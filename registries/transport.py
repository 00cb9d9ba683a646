"""A lean keep-alive HTTP/1.1 transport for the registry client's reads (GET and HEAD), on http.client.

Why. A catalog sync makes two requests per repository (its tag list, then a HEAD or GET per tag), tens
of thousands per run; through requests each costs about 1.3 ms of this process's CPU (adapters, hooks,
cookie jars, header merging), through http.client about 0.35 ms (tests/sync/test_bench_sync.py and the
README's figures). The client uses this transport only where requests would add nothing: no proxy for the
registry's origin, GET or HEAD. A redirect is not followed here: the client reads it again through
requests, which follows it and drops the Authorization header off the registry's host.

Connections are kept per thread (http.client connections are not thread-safe) and per process (a forked
child opens its own), keyed by origin and by how its certificate is verified, so a changed
`registry.ca_file` never reuses a connection verified the old way. A request on a kept connection that
the registry closed in the meantime is sent once more on a new one (GET and HEAD are idempotent).
"""

from __future__ import annotations

import http.client
import os
import ssl
import threading
from collections.abc import Iterator
from email.message import Message
from urllib.parse import urlsplit

import certifi
from requests.utils import parse_header_links

REDIRECTS = (301, 302, 303, 307, 308)
_DRAIN_BYTES = 64 * 1024  # an unread body this small is read out to keep the connection, a larger one drops it
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine)
_MAX_CONNECTIONS = 32  # per thread: registries are few


class TransportError(Exception):
    """The request could not be sent or its answer not read (connection, TLS, timeout, protocol)."""

    @classmethod
    def of(cls, exc: BaseException) -> TransportError:
        # Named as requests names them (SSLError, ConnectTimeout, …), which the messages shown here rely on.
        kind = "SSLError" if isinstance(exc, ssl.SSLError) else exc.__class__.__name__
        return cls(f"{kind}: {exc}")


_local = threading.local()
_contexts: dict[bool | str, ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def _context(verify: bool | str) -> ssl.SSLContext:
    """What requests would verify with: the given CA file, certifi's bundle (requests' default), or nothing."""
    with _contexts_lock:
        found = _contexts.get(verify)
        if found is None:
            if verify is False:
                found = ssl.create_default_context()
                found.check_hostname = False
                found.verify_mode = ssl.CERT_NONE
            else:
                found = ssl.create_default_context(cafile=certifi.where() if verify is True else verify)
            _contexts[verify] = found
        return found


def forget_contexts() -> None:
    """Drops the TLS contexts (a CA file that changed on disk is read again) and this thread's connections."""
    with _contexts_lock:
        _contexts.clear()
    for connection in _pool().values():
        connection.close()
    _pool().clear()
    _last().clear()


def _pool() -> dict[tuple, http.client.HTTPConnection]:
    if getattr(_local, "pid", None) != os.getpid():
        _local.pool, _local.last, _local.pid = {}, {}, os.getpid()
    return _local.pool


def _last() -> dict[tuple, Response]:
    """Each kept connection's last response: closed (read out or dropped) before the next request."""
    _pool()
    return _local.last


class Response:
    """The part of requests' Response the registry client reads: status_code, headers, links,
    iter_content, close. The connection goes back to its pool once the body is read to its end."""

    def __init__(self, raw: http.client.HTTPResponse, connection: http.client.HTTPConnection, key: tuple) -> None:
        self._raw, self._connection, self._key = raw, connection, key
        self.status_code = raw.status
        self.headers: Message = raw.msg

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """As requests gives them: rel → {url, rel, …} from the Link header."""
        header = self.headers.get("Link", "")
        out: dict[str, dict[str, str]] = {}
        for link in parse_header_links(header[:8192]) if header else []:
            out[link.get("rel") or link.get("url", "")] = link
        return out

    def iter_content(self, size: int) -> Iterator[bytes]:
        try:
            while chunk := self._raw.read(size):
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise TransportError.of(exc) from exc

    def close(self) -> None:
        """Reads out a small unread body (the connection stays), or drops the connection."""
        if self._raw.isclosed():
            return
        declared = self._raw.length
        if declared is not None and declared <= _DRAIN_BYTES:
            try:
                self._raw.read()
                return
            except (OSError, http.client.HTTPException):
                pass
        self._drop()

    def _drop(self) -> None:
        self._raw.close()
        self._connection.close()
        if _pool().get(self._key) is self._connection:
            del _pool()[self._key]


def _connection(key: tuple, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    """(a kept connection for `key`, True) or (a new one, False)."""
    pool = _pool()
    found = pool.get(key)
    if found is not None:
        return found, True
    scheme, host, port, verify = key
    if scheme == "https":
        found = http.client.HTTPSConnection(host, port, timeout=timeout, context=_context(verify))
    else:
        found = http.client.HTTPConnection(host, port, timeout=timeout)
    if len(pool) >= _MAX_CONNECTIONS:
        for connection in pool.values():
            connection.close()
        pool.clear()
        _last().clear()
    pool[key] = found
    return found, False


def send(method: str, url: str, *, headers: dict[str, str], timeout: tuple[float, float],
         verify: bool | str) -> Response:
    """One GET or HEAD on a kept connection; redirects are returned, not followed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if method not in ("GET", "HEAD") or scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the lean transport does not send {method} {url[:200]}")
    port = parts.port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = (scheme, parts.hostname, port, verify if scheme == "https" else False)
    connect_timeout, read_timeout = timeout
    previous = _last().pop(key, None)
    if previous is not None:
        previous.close()  # a caller that did not read a body (a ping) must not block the connection
    for attempt in (1, 2):
        connection, kept = _connection(key, connect_timeout)
        try:
            if connection.sock is None:
                connection.connect()
                connection.sock.settimeout(read_timeout)
            connection.request(method, target, headers={"User-Agent": "portus", "Accept-Encoding": "identity",
                                                        **headers})
            raw = connection.getresponse()
        except _STALE as exc:
            connection.close()
            _pool().pop(key, None)
            if kept and attempt == 1:
                continue  # the registry closed a kept connection: once more on a new one
            raise TransportError.of(exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            _pool().pop(key, None)
            raise TransportError.of(exc) from exc
        response = _last()[key] = Response(raw, connection, key)
        return response
    raise AssertionError("unreachable")
