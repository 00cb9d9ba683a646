"""API test helpers: a client per named actor (Portus-Auth header), repositories and tags to look at."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
ROLES = ["admin", "owner", "contributor", "viewer", "outsider", "bot", "anonymous"]


def client_for(user) -> APIClient:
    """A client that sends `Portus-Auth: <username>:<new application token>` (or nothing for None)."""
    from accounts.services import application_token_create

    client = APIClient()
    if user is not None:
        _, plain = application_token_create(user=user, application=f"tests-{user.pk}-{id(client)}", by=user)
        client.credentials(HTTP_PORTUS_AUTH=f"{user.username}:{plain}")
    return client


@pytest.fixture(autouse=True)
def _fresh_health():
    """Each test measures the health anew (the endpoint keeps one measurement for a few seconds)."""
    from api import health

    health.forget()
    yield
    health.forget()


@pytest.fixture
def as_user():
    """as_user(user) → a client authenticated as that user."""
    return client_for


@pytest.fixture
def anonymous():
    return None


@pytest.fixture
def client_as(request, team):
    """client_as("viewer") → a client for one of the named actors (team qa exists), or anonymous."""

    def make(role: str) -> APIClient:
        return client_for(request.getfixturevalue(role))

    return make


@pytest.fixture
def reachable(monkeypatch):
    """Every registry answers (the reachability check is not what these tests are about)."""
    from registries import services
    from registries.services import Reachability

    monkeypatch.setattr(services, "registry_check", lambda **kw: Reachability(True, "answered 401 (registry/2.0)."))


@pytest.fixture
def unreachable(monkeypatch):
    from registries import services
    from registries.services import Reachability

    monkeypatch.setattr(services, "registry_check",
                        lambda **kw: Reachability(False, "http://nowhere/v2/ is not reachable: ConnectionError."))


def make_repository(namespace, name: str = "app", tags: dict[str, str] | None = None, author=None):
    """A repository with tags (name → digest), as the sync would record them."""
    from django.utils import timezone

    from namespaces.models import Repository, Tag

    repository = Repository.objects.create(namespace=namespace, name=name)
    tags = {"latest": DIGEST_A, "v1": DIGEST_A, "v0": DIGEST_B} if tags is None else tags
    for position, (tag, digest) in enumerate(tags.items()):
        Tag.objects.create(repository=repository, name=tag, digest=digest, image_id="sha256:" + "c" * 64,
                           size=1536 * (position + 1), author=author,
                           pushed_at=timezone.now() - timezone.timedelta(minutes=10 - position))
    repository.tags_count = len(tags)
    repository.save()
    return repository


@pytest.fixture
def repository(namespace, owner):
    """qa/app (private namespace qa): latest and v1 on one digest, v0 on another."""
    return make_repository(namespace, author=owner)


@pytest.fixture
def public_repository(registry, owner):
    """olivia/site in olivia's personal namespace, made public."""
    from namespaces.models import Namespace

    personal = Namespace.objects.get(registry=registry, name="olivia")
    personal.visibility = "public"
    personal.save()
    return make_repository(personal, name="site", author=owner)


@pytest.fixture
def registry_deletes(monkeypatch):
    """The registry accepts every manifest delete; the digests asked for are recorded."""
    from registries.client import RegistryClient

    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(RegistryClient, "delete_manifest", lambda self, repo, digest: asked.append((repo, digest)))
    return asked


@pytest.fixture
def registry_refuses(monkeypatch):
    from registries.client import DeleteNotAllowed, RegistryClient

    def refuse(self, repo, digest):
        raise DeleteNotAllowed("the registry does not allow deletes (storage.delete.enabled)")

    monkeypatch.setattr(RegistryClient, "delete_manifest", refuse)


def pytest_terminal_summary(terminalreporter):
    """The schemathesis run's figures, when it ran."""
    from tests.api.test_schemathesis_live import STATS

    if not STATS:
        return
    operations = sorted(key for key in STATS if key.startswith("operation "))
    statuses = ", ".join(f"{key[7:]}: {STATS[key]}" for key in sorted(STATS) if key.startswith("status "))
    terminalreporter.write_line(
        f"schemathesis: {len(operations)} operations, {STATS['examples']} examples; statuses {statuses}"
    )
