"""Storage counted from the stored manifests: each blob once per level, shared bytes, daily snapshots, the
admin page's charts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from images import storage
from images.models import Blob, Manifest, ManifestLink, StorageSnapshot
from namespaces.models import Namespace, Repository

pytestmark = pytest.mark.django_db


def digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def image(registry, repository, n: int, blobs: list[tuple[int, int]], body: int = 100) -> Manifest:
    manifest, _ = Manifest.objects.get_or_create(registry=registry, digest=digest(n),
                                                 defaults={"status": "done", "body_size": body})
    ManifestLink.objects.get_or_create(manifest=manifest, repository=repository)
    for position, (blob, size) in enumerate(blobs):
        Blob.objects.get_or_create(manifest=manifest, position=position,
                                   defaults={"role": "layer", "digest": digest(blob), "size": size})
    return manifest


@pytest.fixture
def two_namespaces(namespace, registry, team):
    other = Namespace.objects.create(registry=registry, name="other", team=team)
    app = Repository.objects.create(namespace=namespace, name="app")
    tool = Repository.objects.create(namespace=namespace, name="tool")
    mirror = Repository.objects.create(namespace=other, name="app")
    # base layer 1000 (blob 10) and config 10 (blob 11) shared by everything; app has its own layer 500
    image(registry, app, 1, [(10, 1000), (11, 10), (12, 500)])
    image(registry, app, 2, [(10, 1000), (11, 10)])  # another tag of app: same layers
    image(registry, tool, 3, [(10, 1000), (13, 7)])
    image(registry, mirror, 2, [(10, 1000), (11, 10)])  # the same manifest, in the other namespace
    return namespace, other, app, tool


def test_each_blob_counted_once_at_each_level(two_namespaces, registry):
    namespace, other, app, tool = two_namespaces
    whole = storage.registry_storage(registry)
    # manifests 1, 2, 3 (100 each) + blobs 10, 11, 12, 13
    assert whole.total.bytes == 300 + 1000 + 10 + 500 + 7 and whole.total.blobs == 7
    assert whole.namespaces[namespace.pk].bytes == whole.total.bytes
    assert whole.namespaces[other.pk].bytes == 100 + 1000 + 10
    # shared between the namespaces: manifest 2 and blobs 10, 11
    assert whole.namespaces[namespace.pk].shared_bytes == 100 + 1000 + 10
    assert whole.total.shared_bytes == 1110
    scoped = storage.scoped_usage(namespace=namespace)
    assert (scoped.bytes, scoped.shared_bytes) == (whole.namespaces[namespace.pk].bytes, 1110)
    tool_usage = storage.scoped_usage(namespace=namespace, repository_id=tool.pk)
    assert (tool_usage.bytes, tool_usage.shared_bytes) == (100 + 1000 + 7, 1000)


def test_daily_snapshot_once_and_the_page_draws_it(two_namespaces, registry, admin, monkeypatch):
    monkeypatch.setattr(storage, "_last_snapshot_day", None)
    assert storage.snapshot_if_due() == 3  # the registry and its two namespaces
    assert storage.snapshot_if_due() == 0
    monkeypatch.setattr(storage, "_last_snapshot_day", None)
    assert storage.snapshot_if_due() == 0  # another process the same day: nothing more
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    StorageSnapshot.objects.create(day=yesterday, registry=registry, bytes=500)
    client = Client()
    client.force_login(admin, backend="accounts.backends.PortusBackend")
    html = client.get("/admin/storage").content.decode()
    assert "<svg" in html and "<polyline" in html and "<script" not in html.split("<main")[-1].split("</main>")[0]
    assert f'data-bytes="{storage.registry_storage(registry).total.bytes}"' in html


def test_storage_page_is_for_admins(owner, outsider):
    for user in (owner, outsider):
        client = Client()
        client.force_login(user, backend="accounts.backends.PortusBackend")
        assert client.get("/admin/storage").status_code == 403
