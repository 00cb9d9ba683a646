"""A deleted user's or namespace's name, claimed again, gets none of the images the registry still holds.

Real pushes and pulls with skopeo against Distribution, authorised by this service's token realm: ivan pushes a
private image and is deleted; team devs' namespace is deleted with an image in it. Their names are then refused
(sign-up, namespace creation) while the registry holds the images, only admins may pull them, and once an admin
has purged (ivan) or emptied and released (devs) the name, the newcomer who takes it pulls nothing of the old.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.e2e.conftest import PASSWORD
from tests.e2e.support.containers import skopeo

RESERVED = "reserved by a former account or namespace"
REFUSED = ("unauthorized", "denied", "authentication required", "401", "403")
GONE = ("manifest unknown", "not found", "404", "name unknown")


def said(result, words) -> bool:
    text = (result.stderr + result.stdout).lower()
    return result.returncode != 0 and any(word in text for word in words)


def pull(stack, tmp_path, repository: str, reference: str, user: str):
    """A real pull: the image's manifest, config and layers copied out of the registry (by tag or digest)."""
    target = tmp_path / f"pulled-{uuid.uuid4().hex[:12]}"
    return skopeo("copy", "--src-creds", f"{user}:{PASSWORD}", f"docker://{stack.registry.ref(repository, reference)}",
                  f"oci:{target}:x", check=False)


def push(stack, image, reference: str, user: str):
    skopeo("copy", "--dest-creds", f"{user}:{PASSWORD}", image.ref(),
           f"docker://{stack.registry.ref(*reference.split(':'))}")


def sign_up(stack, username: str) -> requests.Response:
    """The anonymous sign-up form, as a browser fills it (CSRF cookie and token)."""
    session = requests.Session()
    session.trust_env = False
    page = session.get(f"{stack.web_url}/users/sign_up", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(f"{stack.web_url}/users/sign_up", timeout=30, allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "username": username, "email": f"{username}-{uuid.uuid4().hex[:8]}@example.org",
        "password": PASSWORD, "password_confirm": PASSWORD})


def call(stack, method: str, path: str, expected: int, **kwargs):
    response = stack.api(path, method=method, **kwargs)
    assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def namespace_named(stack, name: str) -> dict | None:
    every = call(stack, "GET", "/namespaces", 200, params={"all": "true"})
    return next((n for n in every if n["name"] == name), None)


@pytest.fixture(scope="module")
def ivans_secret(stack, images):
    """ivan, signed up through the web, with a private image ivan/secret:v1 he pushed himself."""
    assert sign_up(stack, "ivan").status_code == 302
    image = images.single(tag="v1")
    push(stack, image, "ivan/secret:v1", "ivan")
    stack.wait_for_tag("ivan/secret", "v1", image.digest)
    return image


@pytest.fixture(scope="module")
def devs_app(stack, images):
    """Team devs (owned by the admin, carl contributing) with its namespace devs and an image devs/app:v1."""
    team = call(stack, "POST", "/teams", 201, json={"name": "devs"})
    call(stack, "POST", f"/teams/{team['id']}/members", 201, json={"role": "contributor", "user": "carl"})
    call(stack, "POST", "/namespaces", 201, json={"name": "devs", "team": "devs"})
    image = images.single(tag="v1")
    push(stack, image, "devs/app:v1", "carl")
    stack.wait_for_tag("devs/app", "v1", image.digest)
    return image


def test_a_deleted_users_name_is_reserved_until_an_admin_purges_it(stack, ivans_secret, tmp_path):
    assert pull(stack, tmp_path, "ivan/secret", "v1", "ivan").returncode == 0
    assert said(pull(stack, tmp_path, "ivan/secret", "v1", "oscar"), REFUSED)
    ivan = call(stack, "GET", "/users", 200, params={"all": "true"})
    ivan_id = next(u["id"] for u in ivan if u["username"] == "ivan")
    call(stack, "DELETE", f"/users/{ivan_id}", 204)

    # The images stay, for admins only; the name is reserved at every door.
    assert pull(stack, tmp_path, "ivan/secret", "v1", "admin").returncode == 0
    assert said(pull(stack, tmp_path, "ivan/secret", "v1", "ivan"), REFUSED)  # the old account is gone
    again = sign_up(stack, "ivan")
    assert again.status_code == 200 and RESERVED in again.text
    refused = call(stack, "POST", "/users", 422, json={"user": {
        "username": "ivan", "email": "ivan-by-admin@example.org", "password": PASSWORD}})
    assert RESERVED in str(refused["message"])
    retired = namespace_named(stack, "ivan")
    assert retired is not None and retired["permissions"]["push"] is False
    assert [n["former_owner"] for n in call(stack, "GET", "/namespaces/retired", 200) if n["name"] == "ivan"] == [
        "user ivan"]

    # Released only once the registry holds nothing: purge deletes the images, then frees the name.
    assert "purge them first" in str(call(stack, "POST", f"/namespaces/{retired['id']}/release", 422)["message"])
    result = call(stack, "POST", f"/namespaces/{retired['id']}/purge", 200)
    assert result["released"] is True and result["deleted"] >= 1
    assert said(pull(stack, tmp_path, "ivan/secret", "v1", "admin"), GONE)

    # The newcomer gets the name, and none of the old images.
    assert sign_up(stack, "ivan").status_code == 302
    assert said(pull(stack, tmp_path, "ivan/secret", "v1", "ivan"), GONE)
    assert said(pull(stack, tmp_path, "ivan/secret", ivans_secret.digest, "ivan"), GONE)
    assert call(stack, "GET", f"/namespaces/{namespace_named(stack, 'ivan')['id']}/repositories", 200) == []


def test_a_deleted_namespaces_name_is_reserved_until_an_admin_releases_it(stack, devs_app, tmp_path):
    assert pull(stack, tmp_path, "devs/app", "v1", "carl").returncode == 0
    namespace = namespace_named(stack, "devs")
    call(stack, "DELETE", f"/namespaces/{namespace['id']}", 204)

    # The team's members lose it with the namespace; admins keep reading it; no other team gets the name.
    assert said(pull(stack, tmp_path, "devs/app", "v1", "carl"), REFUSED)
    assert pull(stack, tmp_path, "devs/app", "v1", "admin").returncode == 0
    refused = call(stack, "POST", "/namespaces", 422, json={"name": "devs", "team": "qa"})
    assert RESERVED in str(refused["message"])
    assert "purge them first" in str(call(stack, "POST", f"/namespaces/{namespace['id']}/release", 422)["message"])

    # An admin deletes the image in the registry (admins may delete in a retired namespace), then releases it.
    digest = devs_app.digest
    skopeo("delete", "--creds", f"admin:{PASSWORD}", f"docker://{stack.registry.ref('devs/app', digest)}")
    call(stack, "POST", f"/namespaces/{namespace['id']}/release", 204)
    call(stack, "POST", "/namespaces", 201, json={"name": "devs", "team": "qa"})
    assert said(pull(stack, tmp_path, "devs/app", "v1", "olivia"), GONE)
    assert said(pull(stack, tmp_path, "devs/app", digest, "olivia"), GONE)
