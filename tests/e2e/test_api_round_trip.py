"""A whole scenario driven only through the REST API (and skopeo for the push), on an empty instance."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.support.containers import skopeo

PASSWORD = "round-trip-password"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    from tests.e2e.conftest import _running_stack

    with _running_stack(tmp_path_factory, "api-round-trip", populate=False) as running:
        yield running


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.trust_env = False

    def login(self, username: str, token: str) -> None:
        self.session.headers["Portus-Auth"] = f"{username}:{token}"

    def call(self, method: str, path: str, expected: int, **kwargs):
        response = self.session.request(method, f"{self.base}/api/v1{path}", timeout=30, **kwargs)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


def test_bootstrap_to_namespace_deletion(fresh, images):
    api = Api(fresh.web_url)
    registry = fresh.registry

    api.call("GET", "/users", 401)
    boot = api.call("POST", "/users/bootstrap", 201, json={"user": {
        "username": "root", "email": "root@example.org", "password": PASSWORD}})
    api.login("root", boot["plain_token"])
    api.call("POST", "/users/bootstrap", 400, json={"user": {
        "username": "late", "email": "late@example.org", "password": PASSWORD}})
    me = api.call("GET", "/users/root@example.org", 200)
    assert me["admin"] is True

    api.call("POST", "/registries", 201, json={"registry": {
        "name": "main", "hostname": registry.address, "use_ssl": False}})
    api.call("POST", "/users", 201, json={"user": {
        "username": "dev", "email": "dev@example.org", "password": PASSWORD}})
    team = api.call("POST", "/teams", 201, json={"name": "backend", "description": "Services"})
    api.call("POST", f"/teams/{team['id']}/members", 201, json={"role": "contributor", "user": "dev"})
    namespace = api.call("POST", "/namespaces", 201, json={"name": "backend", "team": "backend"})
    assert namespace["visibility"] == "private"

    image = images.single(tag="v1")
    skopeo("copy", "--dest-creds", f"dev:{PASSWORD}", image.ref(), f"docker://{registry.ref('backend/api', 'v1')}")

    deadline = time.monotonic() + 20
    tags = []
    # Until the push's event is applied: the catalog sync, when the background process starts after the push,
    # may show the tag a moment earlier, without the author that only the event names.
    while time.monotonic() < deadline and not (tags and tags[0]["author"]["name"]):
        repos = api.call("GET", f"/namespaces/{namespace['id']}/repositories", 200)
        if repos:
            tags = api.call("GET", f"/repositories/{repos[0]['id']}/tags", 200)
        if not (tags and tags[0]["author"]["name"]):
            time.sleep(0.2)
    assert repos[0]["full_name"] == "backend/api"
    assert [(t["name"], t["digest"], t["size"]) for t in tags] == [("v1", image.digest, image.size)]
    assert tags[0]["author"]["name"] == "dev"

    api.call("DELETE", f"/tags/{tags[0]['id']}", 204)
    assert api.call("GET", f"/repositories/{repos[0]['id']}/tags", 200) == []
    gone = skopeo("inspect", "--creds", f"root:{PASSWORD}", f"docker://{registry.ref('backend/api', 'v1')}",
                  check=False)
    assert gone.returncode != 0

    api.call("DELETE", f"/namespaces/{namespace['id']}", 204)
    api.call("GET", f"/namespaces/{namespace['id']}", 404)
