"""Processing the inbox against a registry: what each event does, in any order, exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from activities.models import Activity
from mirror import processing
from mirror.models import Event
from mirror.services import event_retry
from namespaces.models import Namespace, Repository, Tag, Tombstone
from tests.webhooks.fakes import DOCKER_LIST, OCI_INDEX, OCI_MANIFEST, event, image, index, sha

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def deliver(client, *events) -> None:
    response = client.post("/v2/webhooks/events", data=json.dumps({"events": list(events)}),
                           content_type="application/vnd.docker.distribution.events.v1+json",
                           HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202


def later(minutes: float = 0) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


@pytest.fixture
def pushed(client, fake_registry, namespace, contributor):
    """qa/app:latest pushed by carl and processed."""
    img = fake_registry.put("qa/app", image("one"), tag="latest")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest", actor="carl", at=at(0)))
    processing.drain()
    return img


def tag_of(name: str = "qa/app", tag: str = "latest") -> Tag | None:
    namespace, _, repo = name.rpartition("/")
    return Tag.objects.filter(repository__namespace__name=namespace, repository__name=repo, name=tag).first()


def test_push_by_tag_shows_the_tag(pushed, contributor, namespace):
    tag = tag_of()
    assert tag.digest == pushed.digest
    assert tag.size == pushed.size == 6000
    assert tag.image_id == pushed.config_digest
    assert tag.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert tag.author == contributor
    assert tag.pushed_at == at(0) and tag.event_time == at(0)
    repository = tag.repository
    assert repository.namespace == namespace
    assert (repository.tags_count, repository.pushed_at) == (1, at(0))
    activity = Activity.objects.get(key="repository.push")
    assert activity.owner == contributor and activity.namespace == namespace
    assert activity.parameters == {"tag": "latest", "digest": pushed.digest}
    assert Event.objects.get().status == Event.Status.DONE


def test_manifest_is_read_by_digest_with_every_media_type_accepted(pushed, fake_registry):
    assert fake_registry.fetches() == [f"/v2/qa/app/manifests/{pushed.digest}"]
    accept = [r["accept"] for r in fake_registry.requests if r["auth"]][0]
    assert [a.strip() for a in accept.split(",")] == [
        "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json"]


def test_oci_manifest(client, fake_registry, namespace):
    img = fake_registry.put("qa/oci", image("oci", media_type=OCI_MANIFEST, layer_sizes=(10, 20, 30)), tag="v1")
    deliver(client, event("push", "qa/oci", digest=img.digest, tag="v1", media_type=OCI_MANIFEST))
    processing.drain()
    tag = tag_of("qa/oci", "v1")
    assert (tag.media_type, tag.size, tag.image_id) == (OCI_MANIFEST, 1060, img.config_digest)
    assert tag.platforms == []


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST])
def test_image_index_records_platforms_and_sizes(client, fake_registry, namespace, media_type):
    idx = index("multi", [("linux", "amd64", ""), ("linux", "arm64", "v8")], media_type=media_type,
                attestation=True)
    fake_registry.put("qa/multi", idx, tag="latest")
    children = [event("push", "qa/multi", digest=c.digest, media_type=OCI_MANIFEST) for c in idx.children]
    deliver(client, *children, event("push", "qa/multi", digest=idx.digest, tag="latest", media_type=media_type))
    processing.drain()
    tag = tag_of("qa/multi")
    amd64, arm64 = idx.children[:2]
    assert tag.platforms == [
        {"os": "linux", "architecture": "amd64", "variant": "", "digest": amd64.digest, "size": amd64.size},
        {"os": "linux", "architecture": "arm64", "variant": "v8", "digest": arm64.digest, "size": arm64.size},
    ]
    assert tag.size == amd64.size + arm64.size == idx.size
    assert tag.media_type == media_type and tag.image_id == ""
    assert tag.repository.tags_count == 1
    # the child manifests pushed by digest were noted, not applied
    assert Event.objects.filter(status=Event.Status.IGNORED).count() == len(children)


def test_blob_events_before_the_manifest_cost_nothing(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("blobs"), tag="latest")
    deliver(client,
            event("push", "qa/app", digest=sha(b"l1"), media_type="application/octet-stream"),
            event("mount", "qa/app", digest=sha(b"l2"), media_type="application/octet-stream"),
            event("push", "qa/app", digest=img.digest, tag="latest"))
    processing.drain()
    assert fake_registry.fetches() == [f"/v2/qa/app/manifests/{img.digest}"]
    assert tag_of().digest == img.digest


def test_delete_by_digest_removes_every_tag_of_that_digest(client, fake_registry, namespace, contributor):
    one, two = image("one"), image("two")
    for tag, img in (("a", one), ("b", one), ("c", two)):
        fake_registry.put("qa/app", img, tag=tag)
        deliver(client, event("push", "qa/app", digest=img.digest, tag=tag, at=at(0)))
    processing.drain()
    fake_registry.untag("qa/app", "a")  # the registry deleted the manifest, and so both its tags
    fake_registry.untag("qa/app", "b")
    deliver(client, event("delete", "qa/app", digest=one.digest, media_type="", actor="carl", at=at(10)),
            event("delete", "qa/app", tag="a", media_type="", actor="carl", at=at(10)),
            event("delete", "qa/app", tag="b", media_type="", actor="carl", at=at(10)))
    processing.drain()
    repository = Repository.objects.get(name="app")
    assert list(repository.tags.values_list("name", flat=True)) == ["c"]
    assert repository.tags_count == 1
    deletes = Activity.objects.filter(key="tag.delete")
    assert sorted(a.parameters["tag"] for a in deletes) == ["a", "b"]
    assert all(a.owner == contributor for a in deletes)


def test_delete_by_tag_removes_that_tag(client, pushed, fake_registry):
    fake_registry.put("qa/app", pushed, tag="stable")
    deliver(client, event("push", "qa/app", digest=pushed.digest, tag="stable", at=at(1)))
    processing.drain()
    assert Repository.objects.get(name="app").tags_count == 2
    fake_registry.untag("qa/app", "latest")
    deliver(client, event("delete", "qa/app", tag="latest", media_type="", at=at(5)))
    processing.drain()
    assert tag_of() is None and tag_of(tag="stable") is not None
    assert Repository.objects.get(name="app").tags_count == 1


def test_delete_processed_before_the_push_it_undoes_does_not_resurrect(client, fake_registry, namespace):
    img = image("gone")  # already deleted in the registry when the worker gets to it
    deliver(client, event("delete", "qa/app", digest=img.digest, media_type="", at=at(10)))
    processing.drain()
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest", at=at(5)))
    processing.drain()
    assert tag_of() is None
    assert fake_registry.fetches() == []  # decided without asking the registry
    assert Event.objects.get(action="push").status == Event.Status.DONE


def test_tag_delete_before_older_push_also_holds(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("kept"))  # the manifest stays, only the tag was deleted
    deliver(client, event("delete", "qa/app", tag="latest", media_type="", at=at(10)),
            event("push", "qa/app", digest=img.digest, tag="latest", at=at(5)))
    Event.objects.filter(action="push").update(next_attempt_at=later(1))  # the delete goes first
    processing.drain()
    processing.drain(now=later(2))
    assert tag_of() is None


def test_push_newer_than_the_delete_wins(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("again"))  # deleted (untagged) at 10, pushed again at 20
    deliver(client, event("delete", "qa/app", digest=img.digest, media_type="", at=at(10)),
            event("delete", "qa/app", tag="latest", media_type="", at=at(10)))
    processing.drain()
    fake_registry.put("qa/app", img, tag="latest")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest", at=at(20)))
    processing.drain()
    assert tag_of().digest == img.digest
    assert Tombstone.objects.filter(kind="tag", value="latest").exists()


def test_an_older_push_after_a_newer_one_does_not_win(client, fake_registry, namespace):
    old, new = fake_registry.put("qa/app", image("old")), fake_registry.put("qa/app", image("new"), tag="latest")
    deliver(client, event("push", "qa/app", digest=new.digest, tag="latest", at=at(20)))
    processing.drain()
    deliver(client, event("push", "qa/app", digest=old.digest, tag="latest", at=at(10)))
    processing.drain()
    tag = tag_of()
    assert tag.digest == new.digest and tag.event_time == at(20)
    assert Activity.objects.filter(key="repository.push").count() == 1
    assert "later push" in Event.objects.get(digest=old.digest).last_error


def test_a_newer_push_moves_the_tag(client, pushed, fake_registry):
    new = fake_registry.put("qa/app", image("newer"), tag="latest")
    deliver(client, event("push", "qa/app", digest=new.digest, tag="latest", at=at(30)))
    processing.drain()
    tag = tag_of()
    assert tag.digest == new.digest and tag.image_id == new.config_digest
    assert Repository.objects.get(name="app").tags_count == 1
    assert Repository.objects.get(name="app").pushed_at == at(30)
    assert Activity.objects.filter(key="repository.push").count() == 2


def test_processing_the_same_event_twice_changes_nothing_more(client, pushed, fake_registry):
    activities = Activity.objects.count()
    stored = Event.objects.get()
    deliver(client, json.loads(stored.raw))  # redelivery: deduplicated
    assert Event.objects.count() == 1
    assert event_retry(event=stored).status == Event.Status.DONE  # applied once, stays so
    Event.objects.update(status=Event.Status.PENDING)  # and even if it ran again
    processing.drain()
    assert Event.objects.get().status == Event.Status.DONE
    assert Activity.objects.count() == activities
    tag = tag_of()
    assert (tag.digest, tag.repository.tags_count) == (pushed.digest, 1)


def test_registry_down_is_retried_with_backoff_then_succeeds(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("flaky"), tag="latest")
    fake_registry.down = True
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest"))
    processing.drain()
    stored = Event.objects.get()
    assert stored.status == Event.Status.PENDING and stored.attempts == 1
    assert "RegistryUnavailable" in stored.last_error
    first_wait = stored.next_attempt_at - timezone.now()
    assert timedelta(seconds=3) < first_wait <= timedelta(seconds=5)
    assert processing.drain() == 0  # not due yet
    processing.drain(now=later(1))
    stored.refresh_from_db()
    assert stored.attempts == 2
    assert stored.next_attempt_at - later() > timedelta(seconds=first_wait.total_seconds() + 4)  # backed off
    fake_registry.down = False
    processing.drain(now=later(10))
    stored.refresh_from_db()
    assert stored.status == Event.Status.DONE and stored.last_error == ""
    assert tag_of().digest == img.digest


def test_backoff_is_exponential_and_capped():
    waits = [processing.backoff(n).total_seconds() for n in range(1, 15)]
    assert waits[:4] == [5, 10, 20, 40]
    assert max(waits) == processing.BACKOFF_CAP_SECONDS
    assert waits == sorted(waits)


def test_after_too_many_failures_the_event_is_failed_kept_and_retryable(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("down"), tag="latest")
    fake_registry.down = True
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest"))
    for hours in range(1, processing.MAX_ATTEMPTS + 2):
        processing.drain(now=later(60 * hours))
    stored = Event.objects.get()
    assert stored.status == Event.Status.FAILED
    assert stored.attempts == processing.MAX_ATTEMPTS
    assert Event.objects.needing_attention().get() == stored
    fake_registry.down = False
    event_retry(event=stored)
    processing.drain()
    stored.refresh_from_db()
    assert stored.status == Event.Status.DONE
    assert tag_of().digest == img.digest


def test_manifest_digest_mismatch_is_not_applied_but_retried_and_kept(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("corrupt"), tag="latest")
    fake_registry.corrupt.add(img.digest)
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest"))
    processing.drain()
    stored = Event.objects.get()
    assert stored.status == Event.Status.PENDING and "DigestMismatch" in stored.last_error
    assert tag_of() is None
    for hours in range(1, processing.MAX_ATTEMPTS + 1):
        processing.drain(now=later(60 * hours))
    stored.refresh_from_db()
    assert stored.status == Event.Status.FAILED and "DigestMismatch" in stored.last_error
    assert tag_of() is None


def test_manifest_gone_from_the_registry_is_ignored(client, fake_registry, namespace):
    deliver(client, event("push", "qa/app", digest=sha(b"never stored"), tag="latest"))
    processing.drain()
    stored = Event.objects.get()
    assert stored.status == Event.Status.IGNORED and "not in the registry" in stored.last_error
    assert tag_of() is None


def test_a_killed_worker_loses_nothing(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("crash"), tag="latest")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest"))
    dead = processing.claim(limit=5)  # this worker dies before finishing
    assert len(dead.events) == 1
    assert processing.claim(limit=5, now=later(1)).events == []  # leased: nobody else takes it
    survivor = processing.claim(limit=5, now=timezone.now() + processing.LEASE + timedelta(seconds=1))
    assert [e.pk for e in survivor.events] == [dead.events[0].pk]
    assert processing.process_event(survivor.events[0], survivor.token) == Event.Status.DONE
    # the dead worker coming back to life cannot apply anything any more
    assert processing.process_event(dead.events[0], dead.token) == Event.Status.PROCESSING  # as it left it
    assert Activity.objects.filter(key="repository.push").count() == 1
    stored = Event.objects.get()
    assert stored.status == Event.Status.DONE and stored.attempts == 2
    assert tag_of().digest == img.digest


def test_a_worker_whose_lease_was_taken_applies_nothing(client, fake_registry, namespace):
    img = fake_registry.put("qa/app", image("slow"), tag="latest")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="latest"))
    slow = processing.claim(limit=1)
    fast = processing.claim(limit=1, now=timezone.now() + processing.LEASE + timedelta(seconds=1))
    processing.process_event(slow.events[0], slow.token)
    assert tag_of() is None  # the slow worker lost its lease: nothing applied
    processing.process_event(fast.events[0], fast.token)
    assert tag_of().digest == img.digest


def test_two_claims_never_share_an_event(client, fake_registry, namespace):
    deliver(client, *[event("delete", "qa/app", tag=f"t{i}", media_type="") for i in range(7)])
    first, second = processing.claim(limit=4), processing.claim(limit=4)
    assert len(first.events) == 4 and len(second.events) == 3
    assert not {e.pk for e in first.events} & {e.pk for e in second.events}


def test_pulls_are_counted_without_reading_the_registry(client, pushed, fake_registry):
    before = len(fake_registry.requests)
    deliver(client, *[event("pull", "qa/app", digest=pushed.digest, tag="latest", actor="vera", at=at(60 + i))
                      for i in range(3)])
    deliver(client, event("pull", "qa/app", digest=pushed.digest, tag="latest", actor="portus", at=at(99)))
    processing.drain()
    tag = tag_of()
    assert tag.pull_count == 3
    assert tag.pulled_at == at(62)
    assert len(fake_registry.requests) == before
    assert Event.objects.get(actor="portus").status == Event.Status.IGNORED


def test_pull_of_an_unknown_tag_is_done_without_effect(client, fake_registry, namespace):
    deliver(client, event("pull", "qa/app", digest=sha(b"x"), tag="nope"))
    processing.drain()
    assert Event.objects.get().status == Event.Status.DONE
    assert fake_registry.requests == []


def test_push_to_a_missing_namespace_by_an_admin_creates_it_in_their_team(client, fake_registry, admin):
    img = fake_registry.put("brandnew/app", image("new ns"), tag="latest")
    deliver(client, event("push", "brandnew/app", digest=img.digest, tag="latest", actor="admin"))
    processing.drain()
    namespace = Namespace.objects.get(name="brandnew")
    assert namespace.team.personal_of == admin
    assert tag_of("brandnew/app").digest == img.digest


@pytest.mark.parametrize("actor", ["carl", "somebody-unknown", ""])
def test_push_to_a_missing_namespace_by_others_is_visible_to_admins_only(client, fake_registry, admin, outsider,
                                                                         contributor, actor):
    img = fake_registry.put("ghost/app", image("ghost"), tag="latest")
    deliver(client, event("push", "ghost/app", digest=img.digest, tag="latest", actor=actor))
    processing.drain()
    namespace = Namespace.objects.get(name="ghost")
    assert namespace.team.hidden and namespace.team.personal_of is None
    assert Repository.objects.visible_to(admin).filter(namespace=namespace).exists()
    assert not Repository.objects.visible_to(outsider).filter(namespace=namespace).exists()
    assert not Repository.objects.visible_to(contributor).filter(namespace=namespace).exists()


def test_push_without_a_slash_goes_to_the_global_namespace(client, fake_registry, registry):
    img = fake_registry.put("busybox", image("global"), tag="1.36")
    deliver(client, event("push", "busybox", digest=img.digest, tag="1.36"))
    processing.drain()
    repository = Repository.objects.get(name="busybox")
    assert repository.namespace.is_global and repository.full_name == "busybox"
    assert repository.tags.get().name == "1.36"


def test_repository_delete_event_forgets_the_repository(client, pushed, fake_registry):
    fake_registry.drop("qa/app")
    deliver(client, event("delete", "qa/app", media_type="", at=at(100)))
    processing.drain()
    assert not Repository.objects.filter(name="app").exists()
    assert Activity.objects.filter(key="repository.delete").exists()
    deliver(client, event("push", "qa/app", digest=pushed.digest, tag="latest", at=at(50)))
    processing.drain()
    assert tag_of() is None


def test_event_of_an_unknown_host_is_processed_once_the_host_is_known(client, fake_registry, registry):
    img = fake_registry.put("busybox", image("proxy"), tag="latest")
    deliver(client, event("push", "busybox", digest=img.digest, tag="latest", host="proxy.example.org"))
    stored = Event.objects.get()
    assert stored.status == Event.Status.FLAGGED
    registry.external_hostname = "proxy.example.org"
    registry.save()
    assert event_retry(event=stored).status == Event.Status.PENDING
    processing.drain()
    assert Event.objects.get().status == Event.Status.DONE
    assert Repository.objects.get(name="busybox").tags_count == 1


def test_internal_token_is_minted_for_exactly_the_scope_needed(pushed, fake_registry, monkeypatch):
    import realm.internal as token_module
    from registries.client import RegistryClient, forget_tokens

    asked = []
    real = token_module.issue_token

    def spy(**kwargs):
        asked.append((kwargs["service"], [str(s) for s in kwargs["scopes"]], kwargs["user"].username))
        return real(**kwargs)

    monkeypatch.setattr(token_module, "issue_token", spy)
    forget_tokens()
    from registries.models import Registry

    RegistryClient(Registry.objects.get()).get_manifest("qa/app", pushed.digest)
    assert asked == [(fake_registry.address, ["repository:qa/app:pull"], "portus")]


def test_image_delete_from_this_service_then_its_events(client, pushed, fake_registry, admin, options):
    from namespaces.tags import image_delete

    options.set("delete.enabled", True)
    repository = Repository.objects.get(name="app")
    assert image_delete(repository=repository, digest=pushed.digest, by=admin) == 1
    assert fake_registry.repositories["qa/app"] == {}
    assert tag_of() is None and Repository.objects.get(name="app").tags_count == 0
    deliver(client, event("delete", "qa/app", digest=pushed.digest, media_type="", actor="portus", at=at(50)),
            event("delete", "qa/app", tag="latest", media_type="", actor="portus", at=at(50)))
    processing.drain()
    assert Activity.objects.filter(key="tag.delete").get().owner == admin  # recorded once, by who asked
