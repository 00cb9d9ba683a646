"""Reading (and deleting from) a registry as the internal `portus` account (PROTOCOL.md §4).

Tokens are minted in-process with the token endpoint's own logic, never fetched over HTTP: a worker that
asked its own web workers for a token could wait on itself (the known issue of Portus's documentation).

Nothing the registry answers chooses what the internal account's token may do. Its audience is always the
registry's own host name (`Registry.hostname`, its auth.token.service) and its scope exactly what the
calling method needs; a 401 challenge is only read to refuse one that names another service (whoever
answers there would otherwise get a token for another registry). The token is sent only to the
registry's own origin: paging links elsewhere are refused, and on a redirect to another host (a registry
sending manifest or blob reads to its storage) requests drops the Authorization header.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

from portus.options import option, registry_tls_verify
from registries import tokens, transport
from registries.challenge import Challenge, parse_challenge

# What a call can fail with, and the internal account's tokens (re-exported: callers import them here).
from registries.errors import (  # noqa: F401
    DeleteNotAllowed,
    DigestMismatch,
    ManifestUnknown,
    OffOriginLink,
    RegistryAuthError,
    RegistryError,
    RegistryUnavailable,
    ResponseTooLarge,
)
from registries.manifests import MANIFEST_ACCEPT, ImageDetails, Manifest, image_size, is_attestation, size_of
from registries.models import Registry, canonical_host
from registries.tokens import (  # noqa: F401
    MAX_SHARED_SCOPE_BYTES,
    MAX_SHARED_SCOPES,
    TokenMinter,
    forget_tokens,
    pull_groups,
    repository_scope,
    use_token_minter,
)

log = logging.getLogger(__name__)

API_VERSION_HEADER = "Docker-Distribution-Api-Version"
CATALOG_SCOPE = "registry:catalog:*"


# --- one session per process (and thread) -----------------------------------------------------------

_local = threading.local()


def session() -> requests.Session:
    """This process's keep-alive session (one per thread: a Session is not meant to be shared by threads;
    a forked child gets its own). It does not read the environment on every request (requests' default
    walks os.environ for proxies each time: a third of a sync's time in this process); `proxies_for`
    reads it once per origin instead, and TLS verification is always passed explicitly."""
    current = getattr(_local, "session", None)
    if current is None or getattr(_local, "pid", None) != os.getpid():
        current = requests.Session()
        current.trust_env = False
        current.headers["User-Agent"] = "portus"
        _local.session, _local.pid = current, os.getpid()
    return current


_proxies: dict[str, dict[str, str]] = {}


def proxies_for(url: str) -> dict[str, str]:
    """The proxies the environment names for `url`'s origin (HTTPS_PROXY, NO_PROXY, …), read once per
    origin: registries are few, and their origins come from the Registry table, not from answers."""
    scheme, host, port = _origin(url)
    key = f"{scheme}://{host}:{port}"
    found = _proxies.get(key)
    if found is None:
        found = requests.utils.get_environ_proxies(key)
        if len(_proxies) < 1000:
            _proxies[key] = found
    return found


def forget_proxies() -> None:
    _proxies.clear()


def verify_digest(digest: str, body: bytes) -> None:
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise DigestMismatch(f"unsupported digest algorithm in {digest[:80]!r}")
    actual = hashlib.new(algorithm, body).hexdigest()
    if actual != expected.lower():
        raise DigestMismatch(f"the manifest asked as {digest} hashes to {algorithm}:{actual}")


# Distribution refuses manifests over 4 MiB; a catalog or tag page of the largest `n` fits well within 8.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_PAGE_BYTES = 8 * 1024 * 1024
# The platforms of an index read for a tag's details (as many as images/parse.py shows): a pushed index
# naming thousands of manifests costs thousands of reads no more.
MAX_INDEX_CHILDREN = 64
# What `remember_manifests` keeps at most: an index and its platforms, in a bounded amount of memory.
MAX_REMEMBERED_MANIFESTS = 1 + MAX_INDEX_CHILDREN
MAX_REMEMBERED_BYTES = 16 * 1024 * 1024


def read_bounded(response: requests.Response, limit: int, what: str) -> bytes:
    """The body of a streamed response, refused (and the connection dropped) past `limit` bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise ResponseTooLarge(f"{what}: the registry announced {declared} bytes, more than {limit}")
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            response.close()
            raise ResponseTooLarge(f"{what}: the registry sent more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, what: str) -> Any:
    """JSON from the registry; anything else (or nesting too deep for the parser) is a RegistryError."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RegistryError(f"{what}: not JSON") from exc


def _is_digest(reference: str) -> bool:
    return ":" in reference


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit; a malformed URL has no origin."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return ("", "", None)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


# --- the client ---------------------------------------------------------------------------------


class RegistryClient:
    """Calls one registry. Cheap to create: the session and the tokens are shared by the process."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        # scope → (token, monotonic expiry): a token this client holds for several scopes (hold_pull_token)
        self._held: dict[str, tuple[str, float]] = {}
        # (repository, digest) → Manifest, verified against its digest: kept only while `remember_manifests`
        # is on, so that one piece of work reading a manifest twice (a push's details, then its image
        # details) asks the registry once.
        self._manifests: dict[tuple[str, str], Manifest] | None = None

    def remembered_bytes(self) -> int:
        """The bytes of the manifests this client remembers."""
        return sum(len(m.body) for m in (self._manifests or {}).values())

    def remember_manifests(self) -> RegistryClient:
        """Keeps the manifests read by digest from now on (at most MAX_REMEMBERED_MANIFESTS), for this
        client's life; returns the client. A manifest by digest is immutable: what was verified once is
        what the registry would send again."""
        if self._manifests is None:
            self._manifests = {}
        return self

    def hold_pull_token(self, names: list[str]) -> RegistryClient:
        """A client of the same registry holding ONE internal-account token that pulls from every one of
        `names` (a group from `pull_groups`): what a sync uses to read many repositories for one
        signature. The process's cache is not touched (a sync's thousands of tokens would flush it)."""
        scopes = [repository_scope(name, "pull") for name in names]
        holder = RegistryClient(self.registry)
        if not scopes:
            return holder
        holder._held = dict.fromkeys(scopes, tokens.mint(self.registry, " ".join(scopes)))
        return holder

    # plumbing

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.registry.base_url + path_or_url

    def same_origin(self, url: str) -> bool:
        """Is url on the registry's own scheme, host and port (where its token may go)?"""
        return _origin(url) == _origin(self.registry.base_url)

    def _mint(self, scope: str) -> str:
        token, expiry = tokens.mint(self.registry, scope)
        tokens.remember(self.registry, scope, token, expiry)
        return token

    def _token(self, scope: str, *, fresh: bool = False) -> str:
        """The internal account's token for exactly `scope` at this registry (cached until near expiry), or
        the one this client holds for it with others. A fresh one is always minted for `scope` alone."""
        hit = None if fresh else (self._held.get(scope) or tokens.remembered(self.registry, scope))
        if hit is None or hit[1] <= time.monotonic():
            return self._mint(scope)
        return hit[0]

    def _check_challenge(self, method: str, url: str, response: requests.Response) -> Challenge:
        """The 401's Bearer challenge, refused when it names a service other than this registry's own."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None or challenge.scheme != "bearer":
            raise RegistryAuthError(f"{method} {url}: 401 without a Bearer challenge")
        named = canonical_host(challenge.service)
        if named and named != canonical_host(self.registry.hostname):
            log.warning("registry %s (%s) asked for a token for another service %r: refused; its "
                        "auth.token.service must be %r", self.registry.name, url[:200], named[:200],
                        self.registry.hostname)
            raise RegistryAuthError(
                f"{method} {url}: the registry asked for a token for service {named[:200]!r}, but it is "
                f"known here as {self.registry.hostname!r}: no token is made for another service (set its "
                f"auth.token.service to {self.registry.hostname!r}, or correct the registry's host name)"
            )
        return challenge

    def _send(self, method: str, url: str, token: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            if not self.same_origin(url):
                raise OffOriginLink(f"{method} {url[:200]}: not on the registry's own origin "
                                    f"{self.registry.base_url}; its token is not sent there")
            headers["Authorization"] = f"Bearer {token}"
        timeout = (option("registry.timeout.value"), option("registry.read_timeout.value"))
        proxies = proxies_for(url)
        if method in ("GET", "HEAD") and not proxies and not kwargs.keys() - {"stream"}:
            # The sync's hot path, on http.client (registries/transport.py says why). A redirect is asked
            # again below, through requests.
            try:
                response = transport.send(method, url, headers=headers, timeout=timeout,
                                          verify=registry_tls_verify())
            except transport.TransportError as exc:
                raise RegistryUnavailable(f"{method} {url}: {exc}") from exc
            if response.status_code not in transport.REDIRECTS:
                return response  # type: ignore[return-value]  # the part of a Response this module reads
            response.close()
        try:
            # Redirects (GET/HEAD only: storage back ends) to another host lose the Authorization header:
            # requests strips it (Session.rebuild_auth); tests/webhooks/test_registry_client.py checks it.
            return session().request(
                method, url, headers=headers, allow_redirects=method in ("GET", "HEAD"), proxies=proxies,
                timeout=timeout, verify=registry_tls_verify(), **kwargs,
            )
        except requests.RequestException as exc:
            raise RegistryUnavailable(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc

    def request(self, method: str, path_or_url: str, *, scope: str | None, **kwargs: Any) -> requests.Response:
        """One call with the internal account's token for exactly `scope` (None: no token). A 401 is
        answered once with a freshly minted token for the same scope (the cached one may predate a key
        or clock change), never with the scope or service the challenge asks for."""
        url = self._url(path_or_url)
        token = self._token(scope) if scope else None
        response = self._send(method, url, token, **kwargs)
        if response.status_code == 401:
            response.close()
            challenge = self._check_challenge(method, url, response)
            if not scope:
                raise RegistryAuthError(f"{method} {url}: the registry wants a token here")
            response = self._send(method, url, self._token(scope, fresh=True), **kwargs)
            if response.status_code == 401:
                asked = f" (it asked for {challenge.scope[:200]!r})" if challenge.scope != scope else ""
                raise RegistryAuthError(
                    f"{method} {url}: the registry refused the internal account's token for {scope!r}{asked}; "
                    f"check its auth.token issuer, service ({self.registry.hostname!r}) and rootcertbundle"
                )
        if response.status_code == 429 or response.status_code >= 500:
            raise RegistryUnavailable(f"{method} {url}: {response.status_code}")
        return response

    # reads

    def ping(self) -> bool:
        """Is a Distribution registry answering? (`GET /v2/` → 200 or 401 with its API version header)."""
        try:
            response = self._send("GET", self._url("/v2/"), None)
        except RegistryUnavailable:
            return False
        return response.status_code in (200, 401) and response.headers.get(API_VERSION_HEADER, "").startswith(
            "registry/2.0")

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest by digest (verified) or by tag; raises ManifestUnknown, DigestMismatch, …"""
        remembered = self._manifests
        if remembered is not None and _is_digest(reference):
            hit = remembered.get((repository, reference))
            if hit is None:
                hit = self._read_manifest(repository, reference)
                fits = self.remembered_bytes() + len(hit.body) <= MAX_REMEMBERED_BYTES
                if len(remembered) < MAX_REMEMBERED_MANIFESTS and fits:
                    remembered[(repository, reference)] = hit
            return hit
        return self._read_manifest(repository, reference)

    def _read_manifest(self, repository: str, reference: str) -> Manifest:
        response = self.request(
            "GET", f"/v2/{repository}/manifests/{quote(reference, safe=':')}",
            scope=repository_scope(repository, "pull"), headers={"Accept": MANIFEST_ACCEPT}, stream=True,
        )
        if response.status_code == 404:
            response.close()
            raise ManifestUnknown(f"{repository}@{reference}: not in the registry")
        if response.status_code != 200:
            response.close()
            raise RegistryError(f"{repository}@{reference}: the registry answered {response.status_code}")
        body = read_bounded(response, MAX_MANIFEST_BYTES, f"{repository}@{reference}")
        if _is_digest(reference):
            verify_digest(reference, body)
            digest = reference
        else:
            digest = response.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
        data = parse_json(body, f"{repository}@{reference}: the manifest")
        if not isinstance(data, dict):
            raise RegistryError(f"{repository}@{reference}: the manifest is not a JSON object")
        media_type = data.get("mediaType") if isinstance(data.get("mediaType"), str) else ""
        if not media_type:
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Manifest(digest=digest, media_type=media_type, body=body, data=data)

    def image_details(self, repository: str, digest: str) -> ImageDetails:
        """Reads the manifest by digest; for an index, also each platform's manifest."""
        return self._details(repository, self.get_manifest(repository, digest))

    def tag_details(self, repository: str, tag: str) -> ImageDetails | None:
        """What a tag points at, read in one GET by tag (None when the tag is gone): for a tag not known
        here, where a HEAD then a GET by digest would cost two. The digest is the hash of the bytes
        received, and a `Docker-Content-Digest` that disagrees with it is refused."""
        try:
            manifest = self.get_manifest(repository, tag)
        except ManifestUnknown:
            return None
        actual = "sha256:" + hashlib.sha256(manifest.body).hexdigest()
        if manifest.digest.startswith("sha256:") and manifest.digest != actual:
            raise DigestMismatch(f"{repository}:{tag}: the registry named it {manifest.digest[:80]} but its "
                                 f"bytes hash to {actual}")
        if not manifest.digest.startswith("sha256:"):
            verify_digest(manifest.digest, manifest.body)
        return self._details(repository, manifest)

    def _details(self, repository: str, manifest: Manifest) -> ImageDetails:
        if not manifest.is_index:
            config = manifest.data.get("config") if isinstance(manifest.data.get("config"), dict) else {}
            image_id = config.get("digest") if isinstance(config.get("digest"), str) else ""
            return ImageDetails(digest=manifest.digest, media_type=manifest.media_type, image_id=image_id[:160],
                                size=image_size(manifest.data), platforms=[])
        platforms = []
        entries = manifest.data.get("manifests") if isinstance(manifest.data.get("manifests"), list) else []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str) or is_attestation(entry):
                continue
            if len(platforms) >= MAX_INDEX_CHILDREN:
                break
            child = self.get_manifest(repository, entry["digest"])
            platform = entry.get("platform") if isinstance(entry.get("platform"), dict) else {}
            size = size_of(entry.get("size")) if child.is_index else image_size(child.data)
            platforms.append({
                "os": str(platform.get("os") or ""),
                "architecture": str(platform.get("architecture") or ""),
                "variant": str(platform.get("variant") or ""),
                "digest": child.digest,
                "size": size,
            })
        return ImageDetails(digest=manifest.digest, media_type=manifest.media_type, image_id="",
                            size=sum(p["size"] for p in platforms), platforms=platforms)

    def manifest_digest(self, repository: str, tag: str) -> str | None:
        """What a tag points at now (HEAD, `Docker-Content-Digest`); None when the tag is gone."""
        response = self.request(
            "HEAD", f"/v2/{repository}/manifests/{quote(tag, safe='')}",
            scope=repository_scope(repository, "pull"), headers={"Accept": MANIFEST_ACCEPT},
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryError(f"HEAD {repository}:{tag}: the registry answered {response.status_code}")
        digest = response.headers.get("Docker-Content-Digest", "")
        if digest:
            return digest
        try:
            return self.get_manifest(repository, tag).digest
        except ManifestUnknown:
            return None

    def _pages(self, path: str, *, scope: str, key: str, missing_ok: bool) -> Iterator[str]:
        url: str | None = self._url(path)
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            response = self.request("GET", url, scope=scope, stream=True)
            if response.status_code != 200:
                response.close()
                if response.status_code == 404 and missing_ok:
                    return
                raise RegistryError(f"GET {url}: the registry answered {response.status_code}")
            data = parse_json(read_bounded(response, MAX_PAGE_BYTES, f"GET {url}"), f"GET {url}")
            values = data.get(key) if isinstance(data, dict) else None
            for value in values or []:
                if isinstance(value, str):
                    yield value
            following = response.links.get("next", {}).get("url")
            url = urljoin(url, following) if following else None
            if url and not self.same_origin(url):
                log.warning("registry %s: paging link to another origin %r refused", self.registry.name, url[:200])
                raise OffOriginLink(f"GET {path}: the registry's next page is at {url[:200]!r}, not on its own "
                                    f"origin {self.registry.base_url}: not followed")

    def catalog(self) -> Iterator[str]:
        """Every repository name, page after page (`n` from registry.catalog_page, `Link: rel="next"`).
        A 404 is an error, not an empty catalog: read as "nothing there", it once made Portus's sync
        forget every repository (Portus issue #663)."""
        page = max(1, int(option("registry.catalog_page.value")))
        yield from self._pages(f"/v2/_catalog?n={page}", scope=CATALOG_SCOPE, key="repositories",
                               missing_ok=False)

    def tags(self, repository: str) -> list[str]:
        """The repository's tags ([] when the registry does not know it)."""
        return list(self._pages(f"/v2/{repository}/tags/list", scope=repository_scope(repository, "pull"),
                                key="tags", missing_ok=True))

    # writes

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Deletes a manifest (and so every tag on it) from the registry."""
        response = self.request("DELETE", f"/v2/{repository}/manifests/{digest}",
                                scope=repository_scope(repository, "delete"))
        if response.status_code == 404:
            raise ManifestUnknown(f"{repository}@{digest}: not in the registry")
        if response.status_code == 405:
            raise DeleteNotAllowed("the registry does not allow deletes (storage.delete.enabled)")
        if response.status_code not in (200, 202):
            raise RegistryError(f"DELETE {repository}@{digest}: the registry answered {response.status_code}")
