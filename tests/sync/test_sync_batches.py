"""A sync reads many repositories per token and writes many per transaction, with the same outcome as
one at a time: one signature per group (bounded so the header fits a proxy), batched writes that still
yield to newer events, and a fallback to tag-by-tag writes when a batch meets a conflict."""

from __future__ import annotations

import jwt
import pytest
from django.db import IntegrityError

from activities.models import Activity
from mirror import sync
from mirror.sync import Outcome, sync_plan, sync_registry
from namespaces import sync_writes
from namespaces.models import Repository, Tag
from portus.names import MAX_NAME_LENGTH
from realm.internal import internal_token
from registries import client as registry_client
from registries.client import MAX_SHARED_SCOPE_BYTES, MAX_SHARED_SCOPES, pull_groups
from tests.webhooks.fakes import image


@pytest.fixture
def minted(monkeypatch):
    """Every scope string the internal account's tokens were minted for."""
    calls: list[str] = []

    def counting(registry, scope):
        calls.append(scope)
        return internal_token(registry, scope)

    registry_client.use_token_minter(counting)
    yield calls
    registry_client.use_token_minter(internal_token)


@pytest.fixture
def forty(fake_registry, namespace, registry, options):
    options.set("background.sync.concurrency", 4)
    for i in range(40):
        fake_registry.put(f"qa/app{i:02}", image(f"m{i}"), tag="latest")
    return fake_registry


def test_one_token_reads_a_group_of_repositories(forty, registry, minted):
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.tags_added == 40
    repository_mints = [scope for scope in minted if scope.startswith("repository:")]
    assert len(repository_mints) == 4  # 40 names, 4 readers: 4 groups of 10, one signature each
    covered = sorted(piece for scope in repository_mints for piece in scope.split(" "))
    assert covered == sorted(f"repository:qa/app{i:02}:pull" for i in range(40))
    # and the registry saw every read carry a token whose access names the repository read
    reads = [r for r in forty.requests if "/tags/list" in r["path"] or "/manifests/" in r["path"]]
    for request in reads:
        assert request["authorization"].startswith("Bearer ")
        names = {e["name"] for e in jwt.decode(request["authorization"][7:],
                                               options={"verify_signature": False})["access"]}
        assert request["path"].split("/")[2] + "/" + request["path"].split("/")[3] in names


def test_an_unchanged_sync_mints_a_handful_of_tokens(forty, registry, minted):
    sync_registry(registry=registry, delete=True)
    minted.clear()
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.applied == []
    assert len([s for s in minted if s.startswith("repository:")]) == 4


def test_groups_are_bounded_by_count_and_by_the_length_of_their_names():
    tiny = [f"a{i:03}" for i in range(200)]
    assert [len(g) for g in pull_groups(tiny)] == [MAX_SHARED_SCOPES] * 3 + [8]
    short = [f"qa/app{i:04}" for i in range(200)]
    groups = pull_groups(short)
    assert sum(groups, []) == short
    assert all(sum(len(name) + 45 for name in g) <= MAX_SHARED_SCOPE_BYTES for g in groups)
    assert len(groups[0]) == MAX_SHARED_SCOPE_BYTES // (len(short[0]) + 45)
    long = [("n/" + "a" * (MAX_NAME_LENGTH - 10) + f"{i:08}")[:MAX_NAME_LENGTH] for i in range(40)]
    groups = pull_groups(long)
    assert all(len(g) < MAX_SHARED_SCOPES for g in groups) and sum(groups, []) == long
    assert pull_groups(short, max_count=3)[0] == short[:3]
    assert pull_groups([]) == []


def test_the_largest_group_token_fits_a_proxy_header(db, registry, internal_account, namespace):
    """A group of the longest names the realm accepts: the Authorization header stays under 8 KB."""
    long = [(f"qa/{i:03}" + "x" * MAX_NAME_LENGTH)[:MAX_NAME_LENGTH] for i in range(200)]
    assert len(set(long)) == 200
    short = [f"qa/a{i}" for i in range(200)]
    for names in (long, short):
        group = pull_groups(names)[0]
        token, _ = internal_token(registry, " ".join(f"repository:{n}:pull" for n in group))
        assert len({e["name"] for e in jwt.decode(token, options={"verify_signature": False})["access"]}) == len(group)
        assert len(f"Authorization: Bearer {token}") < 8192


def test_a_batch_that_meets_a_conflict_is_written_tag_by_tag(forty, registry, monkeypatch):
    def conflict(**_):
        raise IntegrityError("duplicate key")

    monkeypatch.setattr(sync_writes, "tags_sync_set_many", conflict)
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.tags_added == 40 and report.repositories_added == 40
    assert Tag.objects.count() == 40


def test_batched_writes_match_what_they_replace(forty, registry, monkeypatch):
    """Counts, pushed_at, activities and the plan afterwards: the same as tag by tag."""
    sync.WRITE_BATCH, previous = 7, sync.WRITE_BATCH  # several batches, cut inside the list
    try:
        first = sync_registry(registry=registry, delete=True)
    finally:
        sync.WRITE_BATCH = previous
    assert first.tags_added == 40 and first.repositories_added == 40
    assert sorted(first.applied) == sorted(("add", f"qa/app{i:02}", "latest") for i in range(40))
    assert set(Repository.objects.values_list("tags_count", flat=True)) == {1}
    assert not Repository.objects.filter(pushed_at__isnull=True).exists()
    assert Activity.objects.filter(key="repository.push", parameters__sync=True).count() == 40
    forty.put("qa/app03", image("moved"), tag="latest")
    forty.put("qa/app03", image("second"), tag="v2")
    again = sync_registry(registry=registry, delete=True)
    assert again.applied == [("change", "qa/app03", "latest"), ("add", "qa/app03", "v2")]
    repository = Repository.objects.get(name="app03")
    assert repository.tags_count == 2
    assert Tag.objects.get(repository=repository, name="latest").digest == image("moved").digest
    assert sync_plan(registry=registry, delete=True).changes() == []


def test_a_refused_namespace_stops_only_its_repository(db, registry, namespace):
    from django.utils import timezone

    from mirror.sync_read import TagWrite
    from namespaces.tags import ImageNameRefused

    def write(tag: str) -> TagWrite:
        return TagWrite(tag=tag, digest=image(tag).digest, media_type="application/vnd.oci.image.manifest.v1+json",
                        image_id="", size=1, platforms=[], observed_at=timezone.now(), created=True)

    results = sync_writes.tags_sync_set_many(
        registry=registry, writes={"Bad_NS/app": [write("a")], "qa/fine": [write("b")]},
        latest_events=lambda names, since: {})
    outcome = {name: change for name, _, change in results}
    assert isinstance(outcome["Bad_NS/app"], ImageNameRefused)
    assert outcome["qa/fine"].applied and Tag.objects.get().repository.full_name == "qa/fine"


def test_a_tag_new_here_is_read_in_one_get_by_tag(fake_registry, namespace, registry):
    img = fake_registry.put("qa/app", image("one"), tag="latest")
    report = sync_registry(registry=registry, delete=False)
    assert report.applied == [("add", "qa/app", "latest")]
    assert fake_registry.fetches("HEAD") == []
    assert fake_registry.fetches("GET") == ["/v2/qa/app/manifests/latest"]
    assert Tag.objects.get().digest == img.digest
    fake_registry.requests.clear()
    assert sync_registry(registry=registry, delete=False).applied == []
    assert fake_registry.fetches("HEAD") == ["/v2/qa/app/manifests/latest"] and fake_registry.fetches("GET") == []


def test_bytes_read_by_tag_that_do_not_hash_to_their_digest_are_refused(fake_registry, namespace, registry):
    img = fake_registry.put("qa/app", image("one"), tag="latest")
    fake_registry.corrupt.add(img.digest)
    report = sync_registry(registry=registry, delete=False)
    assert report.outcome == Outcome.INCOMPLETE and report.applied == []
    assert any("DigestMismatch" in error for error in report.errors)
    assert not Tag.objects.exists()


def test_the_sync_counts_tags_no_event_named(fake_registry, registry, namespace, client):
    """What the status page's hint about `notifications` reads (web/status.py)."""
    import json

    from tests.webhooks.fakes import event

    fake_registry.put("qa/quiet", image("quiet"), tag="latest")  # pushed, never notified
    told = fake_registry.put("qa/told", image("told"), tag="latest")
    response = client.post("/v2/webhooks/events", content_type="application/json",
                           data=json.dumps({"events": [event("push", "qa/told", digest=told.digest, tag="latest")]}),
                           HTTP_AUTHORIZATION="Bearer test-webhook-secret")
    assert response.status_code == 202  # received, not processed yet: the sync writes it, but it was notified
    report = sync_registry(registry=registry, delete=False)
    assert report.tags_added == 2
    assert report.unnotified == 1 and report.unnotified_sample == ["qa/quiet:latest"]
    registry.refresh_from_db()
    assert registry.last_sync_summary["unnotified"] == 1
    assert registry.last_sync_summary["changes_sample"] == [["add", "qa/quiet", "latest"], ["add", "qa/told", "latest"]]


@pytest.mark.django_db(transaction=True)
def test_every_tag_a_batch_writes_is_queued_for_its_details(forty, registry):
    """What hears of the sync's tags (image details) runs after the batch's commit, all at once."""
    from images.models import Manifest, ManifestLink

    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.tags_added == 40
    queued = set(Manifest.objects.filter(registry=registry).values_list("digest", flat=True))
    assert queued == {image(f"m{i}").digest for i in range(40)}
    assert set(ManifestLink.objects.values_list("repository__name", flat=True)) == {f"app{i:02}" for i in range(40)}


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_cannot_be_queued_at_once_is_queued_tag_by_tag(forty, registry, monkeypatch):
    """Should queueing a batch's tags at once fail, they are queued one by one, and one that fails
    does not stop the others."""
    from images import bulk_queue, fetch
    from images.models import Manifest, ManifestLink

    def failing(tags):
        Manifest.objects.bulk_create([Manifest(registry=registry, digest="sha256:" + "0" * 64)])
        raise RuntimeError("boom")  # after a write: its savepoint is rolled back

    monkeypatch.setattr(bulk_queue, "queue_tags", failing)
    real = fetch.queue_tag

    def failing_once(tag):
        if tag.repository.name == "app07":
            raise RuntimeError("boom")
        return real(tag)

    monkeypatch.setattr(fetch, "queue_tag", failing_once)
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.tags_added == 40
    queued = set(Manifest.objects.filter(registry=registry).values_list("digest", flat=True))
    assert queued == {image(f"m{i}").digest for i in range(40) if i != 7}
    linked = set(ManifestLink.objects.values_list("repository__name", flat=True))
    assert linked == {f"app{i:02}" for i in range(40) if i != 7}


def test_the_background_writes_batches_while_it_still_reads(forty, registry, options, monkeypatch):
    """sync_registry writes each batch once its reads are in, before the last repository is read, and
    reports what plan-then-apply reports, in the same order."""
    from mirror import sync_read

    options.set("background.sync.concurrency", 1)  # one reader: the order of reads and writes is fixed
    seen: list[str] = []
    real_read, real_write = sync_read.read_repository, sync._write

    def reading(client, name, known):
        seen.append(f"read {name}")
        return real_read(client, name, known)

    def writing(registry, batch):
        seen.append(f"write {len(batch)}")
        return real_write(registry, batch)

    monkeypatch.setattr(sync_read, "read_repository", reading)
    monkeypatch.setattr(sync, "_write", writing)
    monkeypatch.setattr(sync, "WRITE_BATCH", 15)
    report = sync_registry(registry=registry, delete=True)
    assert report.outcome == Outcome.COMPLETE and report.tags_added == 40 and report.repositories_added == 40
    assert seen.index("write 15") < seen.index("read qa/app39")
    assert [entry for entry in seen if entry.startswith("write")] == ["write 15", "write 15", "write 10"]
    assert report.applied == [("add", f"qa/app{i:02}", "latest") for i in range(40)]
    assert Tag.objects.count() == 40 and Activity.objects.filter(parameters__sync=True).count() == 40
