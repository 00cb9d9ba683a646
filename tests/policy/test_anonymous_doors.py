"""`anonymous_browsing.enabled: false` closes every anonymous door: the token realm, the UI, the API."""

from __future__ import annotations

import base64

import jwt
import pytest
from cryptography import x509

from activities.services import activity_record
from namespaces.models import Repository
from tests.conftest import PASSWORD

SERVICE = "registry.test.lan:5000"


@pytest.fixture
def public_repository(namespace):
    namespace.visibility = "public"
    namespace.save()
    repository = Repository.objects.create(namespace=namespace, name="app")
    activity_record(key="repository.push", owner=namespace.team.members.first().user, target=repository,
                    namespace=namespace)
    return repository


def _anonymous_access(client, signing_files) -> list:
    response = client.get("/v2/token", {"service": SERVICE, "scope": "repository:qa/app:pull"})
    assert response.status_code == 200, response.content
    cert = x509.load_pem_x509_certificate(signing_files[1].read_bytes())
    claims = jwt.decode(response.json()["token"], cert.public_key(), algorithms=["RS256", "ES256"],
                        audience=SERVICE)
    assert claims["sub"] == ""
    return claims["access"]


def test_anonymous_token_pulls_public_images_while_anonymous_browsing_is_on(client, public_repository,
                                                                            signing_files):
    assert _anonymous_access(client, signing_files) == [
        {"type": "repository", "name": "qa/app", "actions": ["pull"]}]


def test_anonymous_token_carries_no_access_when_anonymous_browsing_is_off(client, public_repository, options,
                                                                          signing_files):
    options.set("anonymous_browsing.enabled", False)
    assert _anonymous_access(client, signing_files) == []


def test_signed_in_pull_of_a_public_namespace_is_unaffected(client, outsider, public_repository, options,
                                                            signing_files):
    options.set("anonymous_browsing.enabled", False)
    auth = "Basic " + base64.b64encode(f"oscar:{PASSWORD}".encode()).decode()
    response = client.get("/v2/token", {"service": SERVICE, "scope": "repository:qa/app:pull"},
                          HTTP_AUTHORIZATION=auth)
    cert = x509.load_pem_x509_certificate(signing_files[1].read_bytes())
    claims = jwt.decode(response.json()["token"], cert.public_key(), algorithms=["RS256"], audience=SERVICE)
    assert claims["access"] == [{"type": "repository", "name": "qa/app", "actions": ["pull"]}]


@pytest.mark.parametrize("path", ["/explore", "/namespaces", "/search?q=app"])
def test_anonymous_pages_show_nothing_when_anonymous_browsing_is_off(client, public_repository, options, path):
    options.set("anonymous_browsing.enabled", False)
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/users/sign_in")


def test_activity_of_public_namespaces_is_hidden_from_anonymous_queries_when_off(public_repository, options):
    from django.contrib.auth.models import AnonymousUser

    from activities.models import Activity

    assert Activity.objects.visible_to(AnonymousUser()).filter(key="repository.push").exists()
    options.set("anonymous_browsing.enabled", False)
    assert not Activity.objects.visible_to(AnonymousUser()).exists()
    assert not Repository.objects.visible_to(AnonymousUser()).exists()
