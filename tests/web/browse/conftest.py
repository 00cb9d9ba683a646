"""Fixtures of the browsing pages' tests: signed-in clients, a repository with tags, namespaces by visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_M = "sha256:" + "c" * 64


@pytest.fixture
def client_of(db):
    """client_of(actor) → a test client with that actor's session; client_of(None) is anonymous."""

    def make(user=None, *, enforce_csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=enforce_csrf)
        if user is not None:
            client.force_login(user, backend="accounts.backends.PortusBackend")
        return client

    return make


def add_tag(repository, name: str, digest: str, **fields):
    """A tag as the registry's events would leave it, with the repository's counters kept right."""
    from namespaces.models import Tag

    pushed_at = fields.pop("pushed_at", timezone.now())
    tag = Tag.objects.create(repository=repository, name=name, digest=digest, pushed_at=pushed_at,
                             event_time=pushed_at, **fields)
    repository.tags_count = repository.tags.count()
    repository.pushed_at = max(filter(None, [repository.pushed_at, pushed_at]))
    repository.save(update_fields=["tags_count", "pushed_at"])
    return tag


@pytest.fixture
def repository(namespace, contributor):
    """qa/app in the private namespace qa: `1.0` and `latest` share DIGEST_A, `0.9` is on DIGEST_B,
    `multi` is a two-platform index."""
    from namespaces.models import Repository

    repository = Repository.objects.create(namespace=namespace, name="app", description="The *app* image.")
    earlier = timezone.now() - timedelta(days=3)
    add_tag(repository, "0.9", DIGEST_B, size=1000, image_id="sha256:" + "1" * 64, author=contributor,
            pushed_at=earlier)
    add_tag(repository, "1.0", DIGEST_A, size=2048, image_id="sha256:" + "2" * 64, author=contributor,
            pulled_at=timezone.now(), pull_count=7)
    add_tag(repository, "latest", DIGEST_A, size=2048, image_id="sha256:" + "2" * 64, author=contributor)
    add_tag(repository, "multi", DIGEST_M, size=5000, media_type="application/vnd.oci.image.index.v1+json",
            platforms=[{"os": "linux", "architecture": "amd64", "digest": "sha256:" + "d" * 64, "size": 2500},
                       {"os": "linux", "architecture": "arm64", "variant": "v8", "digest": "sha256:" + "e" * 64,
                        "size": 2500}])
    return repository


@pytest.fixture
def namespace_of_visibility(team, registry, owner):
    """namespace_of_visibility("public") → a namespace of team qa with that visibility and one repository."""
    from namespaces.models import Repository
    from namespaces.services import namespace_create

    def make(visibility: str, name: str | None = None):
        namespace = namespace_create(name=name or f"qa-{visibility}", team=team, by=owner, registry=registry,
                                     visibility=visibility)
        Repository.objects.create(namespace=namespace, name=f"{visibility}-app")
        return namespace

    return make


class FakeRegistry:
    """Stands in for registries.client.RegistryClient: records the manifests it is asked to delete, and
    answers with the error in `refuse` for a digest listed there."""

    def __init__(self) -> None:
        self.deleted: list[tuple[str, str]] = []
        self.refuse: dict[str, Exception] = {}

    def client(self, registry):
        fake = self

        class Client:
            def delete_manifest(self, repository: str, digest: str) -> None:
                if digest in fake.refuse:
                    raise fake.refuse[digest]
                fake.deleted.append((repository, digest))

        return Client()


@pytest.fixture
def registry_deletes(monkeypatch) -> FakeRegistry:
    """The registry, as far as deleting manifests goes; `.deleted` lists what it deleted."""
    from registries import client

    fake = FakeRegistry()
    monkeypatch.setattr(client, "RegistryClient", fake.client)
    return fake
