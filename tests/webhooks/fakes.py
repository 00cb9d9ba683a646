"""A small Distribution registry on 127.0.0.1 for tests, and builders of images and notifications."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
import pytest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
SERVICE = "registry.test.lan:5000"
EVENTS_V1 = "application/vnd.docker.distribution.events.v1+json"
EVENTS_V2 = "application/vnd.docker.distribution.events.v2+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    digest: str
    media_type: str
    body: bytes
    config_digest: str = ""
    size: int = 0
    children: list[Image] = field(default_factory=list)


def image(seed: str, *, media_type: str = DOCKER_MANIFEST, config_size: int = 1000,
          layer_sizes: tuple[int, ...] = (2000, 3000)) -> Image:
    """A single-platform manifest whose size is config + layers."""
    config_digest = sha(f"config {seed}".encode())
    config_type = ("application/vnd.oci.image.config.v1+json" if media_type == OCI_MANIFEST
                   else "application/vnd.docker.container.image.v1+json")
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "size": config_size, "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": size,
                    "digest": sha(f"layer {seed} {i}".encode())} for i, size in enumerate(layer_sizes)],
    }
    body = json.dumps(manifest, indent=3).encode()
    return Image(digest=sha(body), media_type=media_type, body=body, config_digest=config_digest,
                 size=config_size + sum(layer_sizes))


def index(seed: str, platforms: list[tuple[str, str, str]], *, media_type: str = OCI_INDEX,
          attestation: bool = False) -> Image:
    """An image index with one child per (os, architecture, variant), plus an attestation if asked."""
    children = [image(f"{seed} {os_}/{arch}/{variant}", media_type=OCI_MANIFEST, layer_sizes=(100 * (i + 1),))
                for i, (os_, arch, variant) in enumerate(platforms)]
    entries = []
    for child, (os_, arch, variant) in zip(children, platforms, strict=True):
        platform = {"os": os_, "architecture": arch}
        if variant:
            platform["variant"] = variant
        entries.append({"mediaType": child.media_type, "digest": child.digest, "size": len(child.body),
                        "platform": platform})
    if attestation:
        att = image(f"{seed} attestation", media_type=OCI_MANIFEST, layer_sizes=(7,))
        children.append(att)
        entries.append({"mediaType": OCI_MANIFEST, "digest": att.digest, "size": len(att.body),
                        "platform": {"os": "unknown", "architecture": "unknown"},
                        "annotations": {"vnd.docker.reference.type": "attestation-manifest"}})
    body = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}).encode()
    return Image(digest=sha(body), media_type=media_type, body=body, children=children,
                 size=sum(c.size for c in children[: len(platforms)]))


def event(action: str, repository: str, *, digest: str = "", tag: str = "", media_type: str = DOCKER_MANIFEST,
          actor: str = "admin", host: str = SERVICE, at: datetime | str | None = None,
          event_id: str | None = None, size: int = 0) -> dict:
    """A notification as Distribution writes it."""
    stamp = at if isinstance(at, str) else (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    target = {"mediaType": media_type, "size": size, "digest": digest, "length": size,
              "repository": repository, "url": f"http://{host}/v2/{repository}/manifests/{digest}"}
    if tag:
        target["tag"] = tag
    return {
        "id": event_id or str(uuid.uuid4()),
        "timestamp": stamp,
        "action": action,
        "target": target,
        "request": {"id": str(uuid.uuid4()), "addr": "10.0.0.2:5555", "host": host, "method": "PUT",
                    "useragent": "docker/27"},
        "actor": {"name": actor},
        "source": {"addr": "registry:5000", "instanceID": "abc"},
    }


class FakeRegistry:
    """Serves /v2/, catalog, tags, manifests (GET, HEAD, DELETE) and demands Bearer tokens whose `aud` is
    its `service` (its own address, as README tells to configure auth.token.service) and whose access
    covers the request, answering 401 with a challenge otherwise. `challenge_service` and
    `challenge_scope` make it ask for something else (a hostile or misconfigured registry); `redirects`
    sends GETs of a path elsewhere (path → absolute URL), as a registry does to its storage."""

    def __init__(self) -> None:
        self.repositories: dict[str, dict[str, str]] = {}  # name → tag → digest
        self.manifests: dict[tuple[str, str], Image] = {}  # (name, digest) → image
        self.blobs: dict[tuple[str, str], bytes] = {}  # (name, digest) → bytes, served under /blobs/
        self.requests: list[dict] = []  # {"method", "path", "auth", "accept"} in arrival order
        self.down = False
        self.failing: dict[str, int] = {}  # a request whose path (and query) contains a key gets that status
        self.corrupt: set[str] = set()  # digests served with other bytes
        self.max_page = 1000
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.service = self.address
        self.challenge_service: str | None = None
        self.challenge_scope: str | None = None
        self.redirects: dict[str, str] = {}
        self.links: dict[str, str] = {}  # catalog `last` → Link header value to send instead
        self.refuse_tokens = 0  # answer this many requests with a challenge whatever their token
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def start(self) -> FakeRegistry:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # content

    def put(self, repository: str, img: Image, tag: str | None = None) -> Image:
        with self.lock:
            self.repositories.setdefault(repository, {})
            self.manifests[(repository, img.digest)] = img
            for child in img.children:
                self.manifests[(repository, child.digest)] = child
            if tag:
                self.repositories[repository][tag] = img.digest
        return img

    def untag(self, repository: str, tag: str) -> None:
        with self.lock:
            self.repositories[repository].pop(tag, None)

    def drop(self, repository: str) -> None:
        with self.lock:
            self.repositories.pop(repository, None)

    def fetches(self, method: str = "GET", part: str = "/manifests/") -> list[str]:
        """Paths of the authenticated requests (a first, unauthenticated try is answered with a challenge)."""
        return [r["path"] for r in self.requests if r["method"] == method and part in r["path"] and r["auth"]]

    # HTTP

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, status: int, data, headers: dict | None = None) -> None:
                self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

            def _authorised(self, resource: str, action: str) -> bool:
                scope = f"{resource}:{action}"
                header = self.headers.get("Authorization", "")
                if fake.refuse_tokens > 0 and header:
                    fake.refuse_tokens -= 1
                    header = ""
                if header.startswith("Bearer "):
                    claims = jwt.decode(header[7:], options={"verify_signature": False})
                    kind, _, rest = resource.partition(":")
                    for entry in claims.get("access", []):
                        if (claims.get("aud") == fake.service and entry["type"] == kind and entry["name"] == rest
                                and action in entry["actions"]):
                            return True
                service = fake.challenge_service if fake.challenge_service is not None else fake.service
                asked = fake.challenge_scope if fake.challenge_scope is not None else scope
                challenge = (f'Bearer realm="http://portus.test.lan/v2/token",service="{service}",'
                             f'scope="{asked}",error="insufficient_scope"')
                self._json(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": challenge})
                return False

            def _route(self) -> None:
                url = urlparse(self.path)
                fake.requests.append({"method": self.command, "path": self.path,
                                      "auth": "Authorization" in self.headers,
                                      "authorization": self.headers.get("Authorization", ""),
                                      "accept": self.headers.get("Accept", "")})
                if fake.down:
                    self._json(503, {"errors": [{"code": "UNAVAILABLE"}]})
                    return
                failing = [status for part, status in fake.failing.items() if part in self.path]
                if failing and "Authorization" in self.headers:
                    self._json(failing[0], {"errors": [{"code": "UNKNOWN"}]})
                    return
                path = url.path
                if self.path in fake.redirects and self.command in ("GET", "HEAD"):
                    self._send(307, b"", {"Location": fake.redirects[self.path]})
                    return
                if path == "/v2/":
                    self._json(401 if "Authorization" not in self.headers else 200, {})
                    return
                if path == "/v2/_catalog":
                    if not self._authorised("registry:catalog", "*"):
                        return
                    query = parse_qs(url.query)
                    n = min(int(query.get("n", ["100"])[0]), fake.max_page)
                    last = query.get("last", [""])[0]
                    names = sorted(name for name in fake.repositories if name > last)
                    page, more = names[:n], len(names) > n
                    headers = {"Link": f'</v2/_catalog?last={page[-1]}&n={n}>; rel="next"'} if more else {}
                    if more and page[-1] in fake.links:
                        headers = {"Link": fake.links[page[-1]]}
                    self._json(200, {"repositories": page}, headers)
                    return
                blob_name, blob_sep, blob_digest = path[len("/v2/"):].rpartition("/blobs/")
                if blob_sep and self.command in ("GET", "HEAD"):
                    if not self._authorised(f"repository:{blob_name}", "pull"):
                        return
                    body = fake.blobs.get((blob_name, blob_digest))
                    if body is None:
                        self._json(404, {"errors": [{"code": "BLOB_UNKNOWN"}]})
                        return
                    self._send(200, body, {"Content-Type": "application/octet-stream",
                                           "Docker-Content-Digest": blob_digest})
                    return
                name, sep, rest = path[len("/v2/"):].rpartition("/manifests/")
                if sep:
                    self._manifest(name, rest)
                    return
                if path.endswith("/tags/list"):
                    name = path[len("/v2/"):-len("/tags/list")]
                    if not self._authorised(f"repository:{name}", "pull"):
                        return
                    if name not in fake.repositories:
                        self._json(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
                        return
                    tags = sorted(fake.repositories[name]) or None
                    self._json(200, {"name": name, "tags": tags})
                    return
                self._json(404, {"errors": [{"code": "NOT_FOUND"}]})

            def _manifest(self, name: str, reference: str) -> None:
                action = "delete" if self.command == "DELETE" else "pull"
                if not self._authorised(f"repository:{name}", action):
                    return
                digest = reference if ":" in reference else fake.repositories.get(name, {}).get(reference)
                img = fake.manifests.get((name, digest)) if digest else None
                if img is None:
                    self._json(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
                    return
                if self.command == "DELETE":
                    with fake.lock:
                        fake.manifests.pop((name, digest), None)
                        for tag, target in list(fake.repositories.get(name, {}).items()):
                            if target == digest:
                                del fake.repositories[name][tag]
                    self._send(202)
                    return
                accept = self.headers.get("Accept", "")
                if img.media_type not in accept:
                    self._json(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
                    return
                body = img.body + b" " if img.digest in fake.corrupt else img.body
                self._send(200, body, {"Content-Type": img.media_type, "Docker-Content-Digest": img.digest})

            do_GET = do_HEAD = do_DELETE = _route

        return Handler


class FakeStorage:
    """Where a registry redirects reads (a storage back end): answers every GET with `body` and records
    the headers it was sent."""

    def __init__(self, body: bytes = b"{}", media_type: str = DOCKER_MANIFEST) -> None:
        self.requests: list[dict] = []
        storage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                storage.requests.append({"path": self.path, "headers": dict(self.headers)})
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Docker-Content-Digest", sha(body))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_registry(registry, internal_account):
    """The fake registry, with the test registry pointed at it (events still name it SERVICE, its external
    host name)."""
    from realm.token import forget_registries
    from registries.client import forget_tokens
    from registries.models import Registry

    fake = FakeRegistry().start()
    Registry.objects.filter(pk=registry.pk).update(hostname=fake.address, external_hostname=SERVICE)
    registry.refresh_from_db()
    forget_tokens()
    forget_registries()
    yield fake
    fake.stop()
    forget_tokens()
