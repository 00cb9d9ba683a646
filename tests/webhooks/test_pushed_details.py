"""A pushed tag's image details are read by the mirror itself, from the manifest it has just read, once the
tags of its batch are written: each manifest is asked of the registry once, the config once, and a burst of
pushes is visible before its details are read. Meanwhile the manifest is held back from the image queue;
when the read fails, cannot be written as the queue would, or the process stops or dies, the queue reads
it as before."""

from __future__ import annotations

import json

import pytest

from images import fetch
from images.models import Blob, Kind, Manifest
from mirror import processing
from mirror.models import Event
from namespaces.models import Tag
from registries import client as client_module
from registries.client import RegistryClient
from registries.models import Registry
from tests.webhooks.fakes import OCI_INDEX, OCI_MANIFEST, Image, event, sha
from tests.webhooks.test_processing import deliver, tag_of


def configured(fake, repository: str, seed: str, *, tag: str | None = None, layers: int = 2,
               media_type: str = OCI_MANIFEST) -> Image:
    """An image whose config blob the fake serves (the fakes' other images name a config it has not)."""
    config = json.dumps({
        "created": "2024-05-01T10:00:00Z", "os": "linux", "architecture": "amd64",
        "config": {"Env": ["PATH=/usr/bin", "API_TOKEN=hunter2"], "Cmd": ["/app", seed], "User": "app"},
        "history": [{"created_by": f"COPY {seed} {n}"} for n in range(layers)],
    }).encode()
    config_digest = sha(config)
    manifest = {
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config),
                   "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 100 + n,
                    "digest": sha(f"layer {seed} {n}".encode())} for n in range(layers)],
    }
    body = json.dumps(manifest).encode()
    img = Image(digest=sha(body), media_type=media_type, body=body, config_digest=config_digest,
                size=len(config) + sum(100 + n for n in range(layers)))
    fake.blobs[(repository, config_digest)] = config
    return fake.put(repository, img, tag=tag)


def configured_index(fake, repository: str, seed: str, platforms: int, *, tag: str) -> Image:
    children = [configured(fake, repository, f"{seed} {n}") for n in range(platforms)]
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": c.digest, "size": len(c.body),
         "platform": {"os": "linux", "architecture": f"arch{n}"}} for n, c in enumerate(children)]}).encode()
    return fake.put(repository, Image(digest=sha(body), media_type=OCI_INDEX, body=body, children=children), tag=tag)


def reads(fake, part: str) -> list[str]:
    return fake.fetches("GET", part)


def test_a_push_leaves_its_details_read_with_one_read_of_each_part(client, fake_registry, namespace,
                                                                     django_capture_on_commit_callbacks):
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST))
    with django_capture_on_commit_callbacks(execute=True):  # the tag's signal, as after a real commit
        processing.drain()  # the events only: no round of the image queue

    assert tag_of("qa/app", "v1").digest == img.digest
    row = Manifest.objects.get(digest=img.digest)
    assert row.status == Manifest.Status.DONE
    assert row.config["cmd"] == ["/app", "one"] and row.config["user"] == "app"
    assert "hunter2" not in json.dumps(row.config)  # masked as the queue masks it
    assert row.total_size == img.size and row.fetched_at is not None
    assert list(Blob.objects.filter(manifest=row).order_by("position").values_list("role", "created_by")) == [
        ("config", ""), ("layer", "COPY one 0"), ("layer", "COPY one 1")]
    assert reads(fake_registry, "/manifests/") == [f"/v2/qa/app/manifests/{img.digest}"]
    assert reads(fake_registry, "/blobs/") == [f"/v2/qa/app/blobs/{img.config_digest}"]
    assert fetch.drain() == 0  # nothing left for the queue
    assert reads(fake_registry, "/manifests/") == [f"/v2/qa/app/manifests/{img.digest}"]


def test_the_direct_read_writes_what_the_queue_would(client, fake_registry, namespace):
    """The same image pushed to two repositories: one read while processing, one by the queue; the rows
    agree field for field."""
    direct = configured(fake_registry, "qa/direct", "same")
    fake_registry.put("qa/direct", direct, tag="v1")
    deliver(client, event("push", "qa/direct", digest=direct.digest, tag="v1", media_type=OCI_MANIFEST))
    processing.drain()
    done = Manifest.objects.get(digest=direct.digest)

    queued = Manifest.objects.create(registry=done.registry, digest=done.digest + "0", seen_in="qa/direct")
    client_ = RegistryClient(done.registry)
    reading, children = fetch.read_image(client_, "qa/direct", direct.digest)
    fetch.store_read(registry=done.registry, digest=queued.digest, tag_hint="", reading=reading, children=children)
    queued.refresh_from_db()
    fields = ("status", "kind", "media_type", "artifact_type", "subject_digest", "body_size", "total_size",
              "platforms", "config", "annotations", "signatures", "truncated")
    assert {f: getattr(queued, f) for f in fields} == {f: getattr(done, f) for f in fields}


def test_an_index_reads_each_platform_once(client, fake_registry, namespace):
    img = configured_index(fake_registry, "qa/multi", "multi", 3, tag="v1")
    deliver(client, event("push", "qa/multi", digest=img.digest, tag="v1", media_type=OCI_INDEX))
    processing.drain()

    tag = tag_of("qa/multi", "v1")
    assert [p["architecture"] for p in tag.platforms] == ["arch0", "arch1", "arch2"]
    manifest_reads = reads(fake_registry, "/manifests/")
    assert sorted(manifest_reads) == sorted({f"/v2/qa/multi/manifests/{d}"
                                             for d in [img.digest, *(c.digest for c in img.children)]})
    assert len(reads(fake_registry, "/blobs/")) == 3
    rows = {m.digest: m for m in Manifest.objects.all()}
    assert rows[img.digest].status == Manifest.Status.DONE
    assert all(rows[c.digest].status == Manifest.Status.DONE for c in img.children)
    assert fetch.drain() == 0


@pytest.mark.parametrize("failure", ["missing", "unavailable"])
def test_a_failed_config_read_leaves_the_details_to_the_queue(client, fake_registry, namespace, failure,
                                                              django_capture_on_commit_callbacks):
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    config = fake_registry.blobs.pop(("qa/app", img.config_digest))
    if failure == "unavailable":
        fake_registry.blobs[("qa/app", img.config_digest)] = config
        fake_registry.failing["/blobs/"] = 503
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST))
    with django_capture_on_commit_callbacks(execute=True):
        processing.drain()

    assert tag_of("qa/app", "v1").digest == img.digest  # the tag does not wait for its details
    assert Event.objects.get().status == Event.Status.DONE
    row = Manifest.objects.get(digest=img.digest)
    assert row.status == Manifest.Status.PENDING and row.attempts == 0
    fake_registry.failing.clear()
    fake_registry.blobs[("qa/app", img.config_digest)] = config
    assert fetch.drain() == 1
    row.refresh_from_db()
    assert row.status == Manifest.Status.DONE and row.config["cmd"] == ["/app", "one"]


def test_a_read_of_an_image_read_already_is_not_written_again(client, fake_registry, namespace):
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST))
    processing.drain()
    first = Manifest.objects.get(digest=img.digest)

    fake_registry.put("qa/app", img, tag="v2")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v2", media_type=OCI_MANIFEST))
    processing.drain()
    again = Manifest.objects.get(digest=img.digest)
    assert again.fetched_at == first.fetched_at
    assert Tag.objects.filter(digest=img.digest).count() == 2


def test_a_stale_push_writes_no_details(client, fake_registry, namespace):
    """A push older than a delete already applied changes nothing: not the tag, not the details."""
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST,
                          at="2024-05-01T10:00:01Z"))
    processing.drain()
    Manifest.objects.filter(digest=img.digest).update(status=Manifest.Status.PENDING, config={})
    fake_registry.untag("qa/app", "v1")
    deliver(client, event("delete", "qa/app", digest=img.digest, tag="v1", at="2024-05-01T10:00:03Z"))
    processing.drain()
    fake_registry.put("qa/app", img, tag="v1")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST,
                          at="2024-05-01T10:00:02Z"))
    processing.drain()
    assert tag_of("qa/app", "v1") is None
    assert Manifest.objects.get(digest=img.digest).config == {}


def test_a_cosign_tag_is_read_under_its_own_hint(client, fake_registry, namespace):
    """A signature tag's kind comes from its name: the direct read uses the name the queue would."""
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    sig = configured(fake_registry, "qa/app", "sig")
    cosign = "sha256-" + img.digest.removeprefix("sha256:") + ".sig"
    fake_registry.put("qa/app", sig, tag=cosign)
    deliver(client, event("push", "qa/app", digest=sig.digest, tag=cosign, media_type=OCI_MANIFEST))
    processing.drain()
    row = Manifest.objects.get(digest=sig.digest)
    assert (row.status, row.kind, row.subject_digest) == (Manifest.Status.DONE, Kind.SIGNATURE, img.digest)
    unhinted, _ = fetch.read_image(RegistryClient(row.registry), "qa/app", sig.digest)
    assert unhinted.fields["kind"] == Kind.IMAGE  # the name is what made it a signature


def test_a_read_under_another_hint_is_left_to_the_queue(client, fake_registry, namespace):
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST))
    processing.drain()
    row = Manifest.objects.get(digest=img.digest)
    Manifest.objects.filter(pk=row.pk).update(status=Manifest.Status.PENDING)
    reading, children = fetch.read_image(RegistryClient(row.registry), "qa/app", img.digest)
    other = "sha256-" + "a" * 64 + ".att"
    assert not fetch.store_read(registry=row.registry, digest=img.digest, tag_hint=other, reading=reading,
                                children=children)
    assert Manifest.objects.get(pk=row.pk).status == Manifest.Status.PENDING
    assert fetch.store_read(registry=row.registry, digest=img.digest, tag_hint="", reading=reading,
                            children=children)


def test_the_remembered_manifests_are_bounded(fake_registry, namespace, monkeypatch):
    registry = Registry.objects.get()
    images = [configured(fake_registry, "qa/many", f"m{n}") for n in range(5)]
    monkeypatch.setattr(client_module, "MAX_REMEMBERED_MANIFESTS", 3)
    client_ = RegistryClient(registry).remember_manifests()
    for _ in range(2):
        for img in images:
            assert client_.get_manifest("qa/many", img.digest).digest == img.digest
    assert len(reads(fake_registry, "/manifests/")) == 5 + 2  # the first three are remembered
    monkeypatch.setattr(client_module, "MAX_REMEMBERED_MANIFESTS", 100)
    monkeypatch.setattr(client_module, "MAX_REMEMBERED_BYTES", len(images[0].body) + 1)
    fake_registry.requests.clear()
    bytes_bounded = RegistryClient(registry).remember_manifests()
    for _ in range(2):
        for img in images[:2]:
            bytes_bounded.get_manifest("qa/many", img.digest)
    assert len(reads(fake_registry, "/manifests/")) == 2 + 1


def test_by_tag_reads_are_never_remembered(fake_registry, namespace):
    """A tag moves: only a read by digest, whose bytes were verified, is kept."""
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    client_ = RegistryClient(Registry.objects.get()).remember_manifests()
    client_.get_manifest("qa/app", "v1")
    moved = configured(fake_registry, "qa/app", "two", tag="v1")
    assert client_.get_manifest("qa/app", "v1").digest == moved.digest != img.digest


def test_an_index_naming_hundreds_of_manifests_costs_a_bounded_number_of_reads(client, fake_registry, namespace):
    children = [configured(fake_registry, "qa/wide", f"child {n}", layers=1) for n in range(300)]
    entries = [{"mediaType": OCI_MANIFEST, "digest": c.digest, "size": len(c.body),
                "platform": {"os": "linux", "architecture": f"a{n}"}} for n, c in enumerate(children)]
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    wide = fake_registry.put("qa/wide", Image(digest=sha(body), media_type=OCI_INDEX, body=body), tag="v1")
    deliver(client, event("push", "qa/wide", digest=wide.digest, tag="v1", media_type=OCI_INDEX))
    processing.drain()
    tag = tag_of("qa/wide", "v1")
    assert len(tag.platforms) == client_module.MAX_INDEX_CHILDREN
    # The index, then each of the first platforms once: for the tag and for the details alike.
    assert len(reads(fake_registry, "/manifests/")) == 1 + client_module.MAX_INDEX_CHILDREN


def _push_events(client, fake, count: int) -> list[Image]:
    pushed = []
    for n in range(count):
        img = configured(fake, "qa/burst", f"burst {n}", tag=f"v{n}")
        deliver(client, event("push", "qa/burst", digest=img.digest, tag=f"v{n}", media_type=OCI_MANIFEST))
        pushed.append(img)
    return pushed


def test_a_burst_is_visible_before_its_details_are_read(client, fake_registry, namespace, monkeypatch):
    from images import hooks as image_hooks

    seen = []
    real = image_hooks.read_held
    monkeypatch.setattr(image_hooks, "read_held", lambda held: seen.append(Tag.objects.count()) or real(held))
    pushed = _push_events(client, fake_registry, 3)
    assert processing.process_batch(limit=10) == 3
    assert seen == [3, 3, 3]  # every tag of the batch was written before the first details were read
    assert all(Manifest.objects.get(digest=img.digest).status == Manifest.Status.DONE for img in pushed)


def test_a_held_manifest_is_the_queues_once_its_hold_is_over(client, fake_registry, namespace, monkeypatch):
    """A process that dies between the tag and its details: the queue reads them after the hold."""
    from datetime import timedelta

    from django.utils import timezone

    from images import hooks as image_hooks

    monkeypatch.setattr(image_hooks, "read_held", lambda held: False)
    (img,) = _push_events(client, fake_registry, 1)
    processing.drain()
    assert Manifest.objects.get(digest=img.digest).status == Manifest.Status.PENDING
    assert fetch.claim(limit=5)[1] == []  # held: the mirror is reading it
    later = timezone.now() + timedelta(seconds=image_hooks.HOLD_SECONDS + 1)
    assert [m.digest for m in fetch.claim(limit=5, now=later)[1]] == [img.digest]


def test_stopping_hands_the_held_manifests_to_the_queue(client, fake_registry, namespace):
    pushed = _push_events(client, fake_registry, 2)
    calls = iter([False, False])
    assert processing.process_batch(limit=10, should_stop=lambda: next(calls, True)) == 2
    assert {t.name for t in Tag.objects.all()} == {"v0", "v1"}
    assert all(Manifest.objects.get(digest=img.digest).status == Manifest.Status.PENDING for img in pushed)
    assert fetch.drain() == 2  # due at once
    assert all(Manifest.objects.get(digest=img.digest).status == Manifest.Status.DONE for img in pushed)


def test_held_manifests_are_read_sooner_past_their_memory_bound(client, fake_registry, namespace, monkeypatch):
    from images import hooks as image_hooks

    monkeypatch.setattr(processing, "HELD_BYTES", 1)  # every manifest is over it: read after its own event
    seen = []
    real = image_hooks.read_held
    monkeypatch.setattr(image_hooks, "read_held", lambda held: seen.append(Tag.objects.count()) or real(held))
    _push_events(client, fake_registry, 3)
    assert processing.process_batch(limit=10) == 3
    assert seen == [1, 2, 3]


def test_a_pushed_tag_is_queued_once_and_its_orphans_still_linked(client, fake_registry, namespace, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    queued, orphans = [], []
    real_queue, real_orphans = fetch.queue_tag, fetch.link_orphans
    monkeypatch.setattr(fetch, "queue_tag", lambda tag: queued.append(tag.name) or real_queue(tag))
    monkeypatch.setattr(fetch, "link_orphans",
                        lambda repository: orphans.append(repository.pk) or real_orphans(repository))
    img = configured(fake_registry, "qa/app", "one", tag="v1")
    deliver(client, event("push", "qa/app", digest=img.digest, tag="v1", media_type=OCI_MANIFEST))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        processing.drain()
    assert callbacks  # the tag's signal ran after the commit
    assert queued == ["v1"]  # by the mirror, in the tag's transaction; not again by the signal
    assert orphans == [tag_of("qa/app", "v1").repository_id]
    assert Manifest.objects.get(digest=img.digest).status == Manifest.Status.DONE
