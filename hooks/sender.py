"""One HTTP request to a webhook, guarded: each hop's host resolved and checked (hooks/targets.py), the
connection made to the checked address (never a second resolution), redirects followed here, at most
`MAX_REDIRECTS`, each checked the same way; a time limit per socket operation and for the whole attempt;
at most `MAX_RESPONSE_BYTES` of the answer read. No proxy from the environment is used.

Redirects: 307/308 repeat the request; 301/302/303 turn it into a GET without a body (as browsers and
`requests` do). A redirect to another origin drops the basic-auth and custom headers (they were meant for
the configured host), and keeps the signature headers (which reveal nothing).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

from hooks.targets import IPAddress, Resolver, Target, TargetRefused, parse_url, resolve

MAX_REDIRECTS = 3
MAX_RESPONSE_BYTES = 64 * 1024
KEPT_HEADERS = 50
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class Sent:
    """What came of one attempt: the last hop's answer, or the error that stopped it."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""
    refused: bool = False  # the SSRF guard refused a hop: retrying cannot help
    hops: list[str] = field(default_factory=list)  # the URLs requested, in order
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _tls_context() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with requests
        return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, address: IPAddress, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, address: IPAddress, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=_tls_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((str(self._address), self.port), self.timeout)
        # The certificate is checked against the host name of the URL, not the address.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host.strip("[]"))


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host and not target.host.startswith("[") else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _read(response: http.client.HTTPResponse, deadline: float) -> bytes:
    chunks, size = [], 0
    while size < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        chunk = response.read1(min(16384, MAX_RESPONSE_BYTES - size)) if hasattr(response, "read1") else \
            response.read(min(16384, MAX_RESPONSE_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _headers_of(response: http.client.HTTPResponse) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in response.getheaders()[:KEPT_HEADERS]:
        kept[name[:100]] = (kept[name[:100]] + ", " if name[:100] in kept else "") + value[:1000]
    return kept


def send(*, method: str, url: str, headers: dict[str, str], body: bytes, secret_headers: set[str],
         timeout: float, resolver: Resolver | None = None) -> Sent:
    """Sends the request, following redirects as the module says. `secret_headers` names the headers
    dropped when a redirect leaves the configured origin."""
    started = time.monotonic()
    deadline = started + timeout
    sent = Sent()
    try:
        target = parse_url(url)
    except TargetRefused as exc:
        return Sent(error=str(exc), refused=True)
    origin = target.origin
    for _hop in range(MAX_REDIRECTS + 1):
        sent.hops.append(f"{target.scheme}://{_host_header(target)}{target.path}")
        try:
            address = resolve(target, resolver)
        except TargetRefused as exc:
            sent.error, sent.refused = str(exc), True
            break
        left = deadline - time.monotonic()
        if left <= 0:
            sent.error = f"timed out after {timeout:g} s"
            break
        kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        connection = kind(target, address, timeout=left)
        hop_headers = {"Host": _host_header(target), **headers}
        if target.origin != origin:
            hop_headers = {k: v for k, v in hop_headers.items() if k.lower() not in secret_headers}
        try:
            connection.request(method, target.path, body=body or None, headers=hop_headers)
            response = connection.getresponse()
            status, response_headers = response.status, _headers_of(response)
            location = response.getheader("Location") if status in REDIRECTS else None
            data = b"" if location else _read(response, deadline)
        except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
            sent.error = f"{exc.__class__.__name__}: {exc}"[:500] or exc.__class__.__name__
            break
        finally:
            connection.close()
        sent.status, sent.headers, sent.body = status, response_headers, data
        if not location:
            break
        try:
            target = parse_url(urljoin(f"{target.scheme}://{_host_header(target)}{target.path}", location))
        except TargetRefused as exc:
            sent.error, sent.refused = f"redirect refused: {exc}", True
            break
        if status in (301, 302, 303) and method != "GET":
            method, body = "GET", b""
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    else:
        sent.error = f"more than {MAX_REDIRECTS} redirects"
    sent.duration_ms = int((time.monotonic() - started) * 1000)
    return sent
