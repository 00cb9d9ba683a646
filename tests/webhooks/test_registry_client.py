"""The registry client: challenges, in-process tokens, manifests, catalog pages, deletes."""

from __future__ import annotations

import pytest

from registries.client import (
    Challenge,
    DeleteNotAllowed,
    DigestMismatch,
    ManifestUnknown,
    RegistryAuthError,
    RegistryClient,
    RegistryUnavailable,
    image_size,
    parse_challenge,
    session,
)
from tests.webhooks.fakes import OCI_INDEX, image, index, sha


@pytest.mark.parametrize("header, expected", [
    ('Bearer realm="https://auth.example/v2/token",service="registry.example:5000",'
     'scope="repository:team/app:pull,push"',
     Challenge("bearer", {"realm": "https://auth.example/v2/token", "service": "registry.example:5000",
                          "scope": "repository:team/app:pull,push"})),
    ('Bearer realm="r", scope="repository:a:pull,push repository:b:pull", error="insufficient_scope"',
     Challenge("bearer", {"realm": "r", "scope": "repository:a:pull,push repository:b:pull",
                          "error": "insufficient_scope"})),
    ('bearer realm=https://x/token,service=reg', Challenge("bearer", {"realm": "https://x/token", "service": "reg"})),
    ('Bearer realm="with \\"quotes\\", and commas",service="s"',
     Challenge("bearer", {"realm": 'with "quotes", and commas', "service": "s"})),
    ('Basic realm="Registry Realm"', Challenge("basic", {"realm": "Registry Realm"})),
    ("Bearer", Challenge("bearer", {})),
])
def test_challenges_are_parsed(header, expected):
    assert parse_challenge(header) == expected


def test_empty_challenge_is_none():
    assert parse_challenge("") is None


def test_image_size_is_config_plus_layers():
    assert image_size({"config": {"size": 7}, "layers": [{"size": 10}, {"size": 20}]}) == 37
    assert image_size({"config": {"size": "7"}, "layers": [{"size": True}, "junk", {"size": -3}]}) == 0
    assert image_size({}) == 0


def test_one_session_per_process():
    assert session() is session()


@pytest.mark.django_db
def test_manifest_by_digest_is_verified(fake_registry, registry):
    img = fake_registry.put("qa/app", image("verified"), tag="v1")
    manifest = RegistryClient(registry).get_manifest("qa/app", img.digest)
    assert manifest.digest == img.digest and manifest.body == img.body
    assert manifest.data["config"]["digest"] == img.config_digest
    fake_registry.corrupt.add(img.digest)
    with pytest.raises(DigestMismatch):
        RegistryClient(registry).get_manifest("qa/app", img.digest)


@pytest.mark.django_db
def test_manifest_unknown(fake_registry, registry):
    with pytest.raises(ManifestUnknown):
        RegistryClient(registry).get_manifest("qa/app", sha(b"nothing"))


@pytest.mark.django_db
def test_index_details_skip_attestations(fake_registry, registry):
    idx = fake_registry.put("qa/multi", index("i", [("linux", "amd64", ""), ("windows", "amd64", "")],
                                              attestation=True), tag="latest")
    details = RegistryClient(registry).image_details("qa/multi", idx.digest)
    assert details.media_type == OCI_INDEX
    assert [p["os"] for p in details.platforms] == ["linux", "windows"]
    assert details.size == idx.size


@pytest.mark.django_db
def test_tokens_are_reused_until_they_expire(fake_registry, registry, monkeypatch):
    import registries.token as token_module

    calls = []
    real = token_module.issue_token
    monkeypatch.setattr(token_module, "issue_token", lambda **kw: calls.append(kw) or real(**kw))
    img = fake_registry.put("qa/app", image("reuse"), tag="v1")
    client = RegistryClient(registry)
    for _ in range(3):
        client.get_manifest("qa/app", img.digest)
    assert len(calls) == 1
    assert calls[0]["service"] == registry.hostname and calls[0]["user"].username == "portus"
    assert [r["auth"] for r in fake_registry.requests] == [False, True, True, True]


@pytest.mark.django_db
def test_without_the_internal_account_the_client_says_so(registry):
    from tests.webhooks.fakes import FakeRegistry

    fake = FakeRegistry().start()
    try:
        registry.hostname = fake.address
        img = fake.put("qa/app", image("x"))
        with pytest.raises(RegistryAuthError, match="create_api_account"):
            RegistryClient(registry).get_manifest("qa/app", img.digest)
    finally:
        fake.stop()


@pytest.mark.django_db
def test_catalog_follows_relative_link_pages(fake_registry, registry, options):
    options.set("registry.catalog_page.value", 2)
    names = [f"ns{i}/app" for i in range(7)]
    for name in names:
        fake_registry.put(name, image(name), tag="latest")
    assert list(RegistryClient(registry).catalog()) == sorted(names)
    pages = fake_registry.fetches(part="/v2/_catalog")
    assert pages[0] == "/v2/_catalog?n=2" and len(pages) == 4
    assert pages[1] == "/v2/_catalog?last=ns1/app&n=2"


@pytest.mark.django_db
def test_tags_and_digests(fake_registry, registry):
    img = fake_registry.put("qa/app", image("t"), tag="b")
    fake_registry.put("qa/app", img, tag="a")
    client = RegistryClient(registry)
    assert client.tags("qa/app") == ["a", "b"]
    assert client.tags("qa/none") == []
    assert client.manifest_digest("qa/app", "a") == img.digest
    assert client.manifest_digest("qa/app", "zzz") is None


@pytest.mark.django_db
def test_delete_manifest_asks_for_the_delete_scope(fake_registry, registry, options):
    options.set("delete.enabled", True)
    img = fake_registry.put("qa/app", image("del"), tag="a")
    RegistryClient(registry).delete_manifest("qa/app", img.digest)
    assert fake_registry.repositories["qa/app"] == {}
    with pytest.raises(ManifestUnknown):
        RegistryClient(registry).delete_manifest("qa/app", img.digest)


@pytest.mark.django_db
def test_delete_without_the_delete_option_is_refused_by_the_registry(fake_registry, registry, options):
    options.set("delete.enabled", False)
    img = fake_registry.put("qa/app", image("nodel"), tag="a")
    with pytest.raises(RegistryAuthError):
        RegistryClient(registry).delete_manifest("qa/app", img.digest)


def test_delete_not_allowed_is_not_retryable():
    assert not DeleteNotAllowed.retryable and not ManifestUnknown.retryable and RegistryUnavailable.retryable


@pytest.mark.django_db
def test_ping(fake_registry, registry):
    assert RegistryClient(registry).ping()
    registry.hostname = "127.0.0.1:9"  # discard port: nothing listens
    assert not RegistryClient(registry).ping()


@pytest.mark.django_db
def test_unreachable_registry_is_unavailable(registry, options):
    registry.hostname = "127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(RegistryUnavailable):
        RegistryClient(registry).get_manifest("qa/app", sha(b"x"))


@pytest.mark.django_db
def test_server_errors_are_unavailable(fake_registry, registry):
    fake_registry.down = True
    with pytest.raises(RegistryUnavailable):
        list(RegistryClient(registry).catalog())
