"""`push_is_stale`, the one statement that lets the background skip reading the registry for a push that
would not be applied, holds the answer of the three look-ups it stands for (a later delete of the tag or
digest, the repository, a later push of the tag) for any mix of tombstones and tags, in namespaced and
global repositories, with the longest tags and digests (a sha512 digest is longer than a tombstone's
128 characters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from namespaces import tags as tag_services
from namespaces.models import Repository, Tag, Tombstone
from namespaces.services import global_namespace_ensure

BASE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SHA256 = "sha256:" + "a" * 64
SHA512 = "sha512:" + "b" * 128
TAGS = ["v1", "latest", "t" * 128]
DIGESTS = [SHA256, "sha256:" + "c" * 64, SHA512]
MOMENTS = [BASE + timedelta(microseconds=n) for n in (-1, 0, 1)]


def _reference(registry, repository_name: str, tag: str, digest: str, when: datetime) -> str:
    """What push_is_stale answered before it was one statement: three look-ups."""
    if Tombstone.objects.filter(registry=registry, repository=repository_name, event_time__gte=when).filter(
            kind=Tombstone.Kind.TAG, value=tag[:128]).exists() or Tombstone.objects.filter(
            registry=registry, repository=repository_name, event_time__gte=when, kind=Tombstone.Kind.DIGEST,
            value=digest[:128]).exists():
        return "deleted by a later event"
    repository = tag_services.repository_find(registry=registry, repository_name=repository_name)
    if repository is None:
        return ""
    tags = Tag.objects.filter(repository=repository, name=tag, event_time__isnull=False)
    newer = [t for t in tags if t.event_time > when or (t.event_time == when and t.digest >= digest)]
    return "a later push was applied already" if newer else ""


stones = st.lists(st.tuples(st.sampled_from(["tag", "digest"]), st.sampled_from(TAGS + DIGESTS),
                            st.sampled_from(MOMENTS)), max_size=3)
held = st.lists(st.tuples(st.sampled_from(TAGS), st.sampled_from(DIGESTS), st.sampled_from(MOMENTS + [None])),
                max_size=3)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(["qa/app", "lib", "qa/none", "other/app"]), stones=stones, held=held,
       tag=st.sampled_from(TAGS), digest=st.sampled_from(DIGESTS), when=st.sampled_from(MOMENTS))
def test_one_statement_answers_as_the_three_lookups(registry, namespace, where, stones, held, tag, digest, when):
    with transaction.atomic():
        repositories = {"qa/app": Repository.objects.create(namespace=namespace, name="app"),
                        "lib": Repository.objects.create(namespace=global_namespace_ensure(registry=registry),
                                                         name="lib")}
        for kind, value, moment in stones:
            Tombstone.objects.update_or_create(registry=registry, repository=where, kind=kind, value=value[:128],
                                               defaults={"event_time": moment})
        target = repositories.get(where)
        for name, held_digest, moment in held:
            if target is not None:
                Tag.objects.update_or_create(repository=target, name=name,
                                             defaults={"digest": held_digest, "event_time": moment})
        with CaptureQueriesContext(connection) as captured:
            answer = tag_services.push_is_stale(registry=registry, repository_name=where, tag=tag, digest=digest,
                                                event_time=when)
        assert len(captured.captured_queries) == 1
        assert answer == _reference(registry, where, tag, digest, when)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_later_push_and_a_later_delete_are_told_apart(registry, namespace):
    repository = Repository.objects.create(namespace=namespace, name="app")
    Tag.objects.create(repository=repository, name="v1", digest=SHA512, event_time=BASE)
    stale = tag_services.push_is_stale
    assert stale(registry=registry, repository_name="qa/app", tag="v1", digest=SHA256, event_time=MOMENTS[0]) == (
        "a later push was applied already")
    assert stale(registry=registry, repository_name="qa/app", tag="v1", digest=SHA256, event_time=MOMENTS[2]) == ""
    Tombstone.objects.create(registry=registry, repository="qa/app", kind=Tombstone.Kind.DIGEST, value=SHA512[:128],
                             event_time=MOMENTS[2])
    assert stale(registry=registry, repository_name="qa/app", tag="v2", digest=SHA512, event_time=BASE) == (
        "deleted by a later event")
