"""The tag page and the tag lists: details from the database only, artifacts beside their image, long names."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.utils import timezone

from images import fetch
from images.models import Blob, Kind, Manifest, SigningKey
from images.signatures import canonical_pem, fingerprint
from namespaces.models import Repository, Tag
from tests.e2e.support.artifacts import simple_signing_payload

pytestmark = pytest.mark.django_db
IMAGE = "sha256:" + "a" * 64
SIG = "sha256:" + "5" * 64
LONG = "x" * 60 + "/" + "y" * 120


def client_of(user) -> Client:
    client = Client()
    client.force_login(user, backend="accounts.backends.PortusBackend")
    return client


@pytest.fixture
def signed_repository(namespace, owner):
    repository = Repository.objects.create(namespace=namespace, name=LONG)
    now = timezone.now()
    tag = Tag.objects.create(repository=repository, name="t" * 128, digest=IMAGE, pushed_at=now, event_time=now)
    Tag.objects.create(repository=repository, name=f"sha256-{'a' * 64}.sig", digest=SIG, pushed_at=now, event_time=now)
    image = fetch.enqueue(registry=namespace.registry, digest=IMAGE, repository=repository)
    Manifest.objects.filter(pk=image.pk).update(
        status="done", fetched_at=now, kind=Kind.IMAGE, media_type="application/vnd.oci.image.manifest.v1+json",
        total_size=300, config={"created": "2024-01-01T00:00:00Z", "env": [["DB_PASSWORD", "••••••"]],
                                "cmd": ["/bin/sh"], "labels": {}, "exposed_ports": ["80/tcp"]},
        annotations={"org.opencontainers.image.source": "javascript:alert(1)",
                     "org.opencontainers.image.description": "<script>x</script>"})
    Blob.objects.create(manifest=image, position=1, role="layer", digest="sha256:" + "1" * 64, size=200,
                        created_by="RUN make")
    key = ec.generate_private_key(ec.SECP256R1())
    SigningKey.objects.create(namespace=namespace, name="release", pem=canonical_pem(key.public_key()),
                              fingerprint=fingerprint(key.public_key()))
    payload = simple_signing_payload("r/x", IMAGE)
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    sig = fetch.enqueue(registry=namespace.registry, digest=SIG, repository=repository, subject=IMAGE)
    Manifest.objects.filter(pk=sig.pk).update(status="done", fetched_at=now, kind=Kind.SIGNATURE,
                                              signatures=[{"payload": base64.b64encode(payload).decode(),
                                                           "signature": signature}])
    return repository, tag


def test_tag_page_shows_the_image_and_its_verified_signature(signed_repository, viewer, monkeypatch):
    def no_registry(*args, **kwargs):
        raise AssertionError("the page called the registry")

    monkeypatch.setattr("registries.client.RegistryClient.request", no_registry)
    repository, tag = signed_repository
    html = client_of(viewer).get(f"/tags/{tag.pk}").content.decode()
    assert "verified by release" in html
    assert "RUN make" in html and "80/tcp" in html and "••••••" in html
    assert "javascript:alert" not in html.split("Annotations")[0]  # never a link
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_artifact_tags_are_not_listed_as_tags(signed_repository, viewer, django_assert_max_num_queries):
    repository, tag = signed_repository
    html = client_of(viewer).get(f"/repositories/{repository.pk}").content.decode()
    assert "sha256-" + "a" * 64 + ".sig" not in html
    assert "verified by release" in html
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(viewer)
    names = [t["name"] for t in api.get(f"/api/v1/repositories/{repository.pk}/tags").json()]
    assert names == ["t" * 128]
    details = api.get(f"/api/v1/tags/{tag.pk}/details").json()
    assert details["verified_by"] == ["release"] and details["referrers"][0]["tag"].endswith(".sig")
    assert details["source_url"] is None


def test_outsiders_get_404(signed_repository, outsider):
    _, tag = signed_repository
    assert client_of(outsider).get(f"/tags/{tag.pk}").status_code == 404


def test_a_tag_not_read_yet_says_so(namespace, viewer):
    repository = Repository.objects.create(namespace=namespace, name="fresh")
    tag = Tag.objects.create(repository=repository, name="v1", digest=IMAGE, pushed_at=timezone.now())
    assert "not been read from the registry yet" in client_of(viewer).get(f"/tags/{tag.pk}").content.decode()


def test_the_sweep_queues_what_hooks_missed(namespace):
    repository = Repository.objects.create(namespace=namespace, name="missed")
    Tag.objects.bulk_create([Tag(repository=repository, name=f"v{i}", digest="sha256:" + f"{i:064x}")
                             for i in range(5)])  # bulk_create sends no signal
    assert not Manifest.objects.exists()
    sweep = fetch.Sweep()
    sweep.step(0.0)
    assert Manifest.objects.filter(status="pending").count() == 5
    assert sweep.step(1.0) == 0  # paused after a full pass


def test_the_sweep_steps_over_a_gap_of_deleted_ids_at_once(namespace):
    repository = Repository.objects.create(namespace=namespace, name="churned")
    far = (Tag.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 10 * fetch.SWEEP_IDS_PER_ROUND
    Tag.objects.bulk_create([Tag(id=far + i, repository=repository, name=f"v{i}", digest="sha256:" + f"{i:064x}")
                             for i in range(3)])
    sweep = fetch.Sweep()
    assert sweep.step(0.0) == 3  # the first round reaches them, past ten windows of nothing
    assert Manifest.objects.filter(status="pending").count() == 3
    assert sweep.step(1.0) == 0
