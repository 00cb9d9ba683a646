"""A repository's tag count leaves out the artifacts shown beside their image: cosign's `.sig`, `.att` and
`.sbom` tags, the OCI referrers tag, and tags of manifests with an OCI 1.1 subject."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from images import fetch
from images.artifacts import recount_tags
from images.models import Manifest
from namespaces.models import Repository
from namespaces.tags import tag_apply_push

pytestmark = pytest.mark.django_db
IMAGE = "sha256:" + "a" * 64


def push(registry, tag: str, digest: str) -> None:
    tag_apply_push(registry=registry, repository_name="qa/app", tag=tag, digest=digest,
                   media_type="application/vnd.oci.image.manifest.v1+json", image_id="", size=10, platforms=[],
                   author=None, event_time=timezone.now())


def test_cosign_and_referrers_tags_are_not_counted(namespace):
    registry = namespace.registry
    push(registry, "1.0", IMAGE)
    for n, suffix in enumerate((".sig", ".att", ".sbom", "")):
        push(registry, f"sha256-{'a' * 64}{suffix}", "sha256:" + str(n + 1) * 64)
    repository = Repository.objects.get(namespace=namespace, name="app")
    assert repository.tags.count() == 5
    assert repository.tags_count == 1


def test_a_tag_found_to_have_a_subject_leaves_the_count(namespace):
    registry = namespace.registry
    push(registry, "1.0", IMAGE)
    push(registry, "sbom-by-oras", "sha256:" + "b" * 64)
    repository = Repository.objects.get(namespace=namespace, name="app")
    assert repository.tags_count == 2
    artifact = fetch.enqueue(registry=registry, digest="sha256:" + "b" * 64, repository=repository)
    Manifest.objects.filter(pk=artifact.pk).update(subject_digest=IMAGE)  # what the background read finds
    recount_tags([repository.pk])
    repository.refresh_from_db()
    assert repository.tags_count == 1


def test_the_repository_page_shows_the_count_without_artifacts(namespace, owner):
    registry = namespace.registry
    push(registry, "1.0", IMAGE)
    push(registry, "2.0", IMAGE)
    push(registry, f"sha256-{'a' * 64}.sig", "sha256:" + "5" * 64)
    repository = Repository.objects.get(namespace=namespace, name="app")
    client = Client()
    client.force_login(owner, backend="accounts.backends.PortusBackend")
    html = client.get(f"/repositories/{repository.pk}").content.decode()
    assert "<span>2 tags</span>" in html
