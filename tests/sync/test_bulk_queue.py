"""Queueing a sync batch's tags at once (images/bulk_queue.py) leaves the rows that queueing them one
by one leaves (images/fetch.py queue_tag then link_orphans): the same manifests with the same
`seen_in`, subject and status, and the same links, for any mix of repositories, shared digests, cosign
tag names, digests that are not digests, an orphan pushed by digest and an index read already."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from images import bulk_queue, fetch
from images.models import Manifest, ManifestLink
from namespaces.models import Repository, Tag

HEX = [c * 64 for c in "abcdef"]
DIGESTS = [f"sha256:{h}" for h in HEX] + ["not-a-digest", ""]
TAG_NAMES = ["latest", "v1", f"sha256-{HEX[0]}.sig", f"sha256-{HEX[1]}.att", f"sha256-{HEX[2]}"]


@pytest.fixture
def scene(namespace, registry):
    repositories = [Repository.objects.create(namespace=namespace, name=f"r{i}") for i in range(3)]
    # pushed by digest to qa/r1 before that repository existed here: an orphan
    Manifest.objects.create(registry=registry, digest=DIGESTS[3], seen_in="qa/r1")
    # an index read already, whose platforms are known here
    for child in (DIGESTS[4], DIGESTS[5]):
        Manifest.objects.create(registry=registry, digest=child, seen_in="elsewhere/x", status=Manifest.Status.DONE)
    Manifest.objects.create(registry=registry, digest=DIGESTS[2], seen_in="elsewhere/x", status=Manifest.Status.DONE,
                            platforms=[{"digest": DIGESTS[4]}, {"digest": DIGESTS[5]}, {"digest": "bogus"}])
    return registry, repositories


def _rows(registry) -> tuple[set, set]:
    manifests = set(Manifest.objects.filter(registry=registry).values_list("digest", "seen_in", "subject_digest",
                                                                            "status"))
    links = set(ManifestLink.objects.values_list("manifest__digest", "repository__name"))
    return manifests, links


def _queued(registry, tags: list[Tag], *, at_once: bool) -> tuple[set, set]:
    with transaction.atomic():
        if at_once:
            bulk_queue.queue_tags(tags)
        else:
            for tag in tags:
                fetch.queue_tag(tag)
                fetch.link_orphans(tag.repository)
        rows = _rows(registry)
        transaction.set_rollback(True)
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(TAG_NAMES), st.sampled_from(DIGESTS)), max_size=12))
@pytest.mark.django_db
def test_at_once_and_one_by_one_leave_the_same_rows(scene, picks):
    registry, repositories = scene
    tags = [Tag(repository=repositories[r], name=name, digest=digest) for r, name, digest in picks]
    one_by_one = _queued(registry, tags, at_once=False)
    at_once = _queued(registry, tags, at_once=True)
    assert at_once[0] == one_by_one[0]
    # the orphan is linked to qa/r1 whenever a tag of r1 is queued, whatever other tag linked it before
    orphan_link = {(DIGESTS[3], "r1")} if any(r == 1 for r, _, _ in picks) else set()
    assert at_once[1] == one_by_one[1] | orphan_link


@pytest.mark.django_db
def test_a_cosign_tag_names_its_subject_and_an_index_brings_its_platforms(scene):
    registry, repositories = scene
    bulk_queue.queue_tags([Tag(repository=repositories[0], name=f"sha256-{HEX[1]}.sig", digest=DIGESTS[0]),
                           Tag(repository=repositories[2], name="latest", digest=DIGESTS[2])])
    signature = Manifest.objects.get(registry=registry, digest=DIGESTS[0])
    assert signature.subject_digest == f"sha256:{HEX[1]}" and signature.seen_in == "qa/r0"
    assert signature.status == Manifest.Status.PENDING
    linked = set(ManifestLink.objects.filter(repository=repositories[2]).values_list("manifest__digest", flat=True))
    assert linked == {DIGESTS[2], DIGESTS[4], DIGESTS[5]}
