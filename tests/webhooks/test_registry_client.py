"""The registry client: challenges, in-process tokens, manifests, catalog pages, deletes."""

from __future__ import annotations

import pytest

from registries.challenge import Challenge, parse_challenge
from registries.client import (
    DeleteNotAllowed,
    DigestMismatch,
    ManifestUnknown,
    RegistryAuthError,
    RegistryClient,
    RegistryUnavailable,
    session,
)
from registries.manifests import image_size
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
    import realm.internal as token_module

    calls = []
    real = token_module.issue_token
    monkeypatch.setattr(token_module, "issue_token", lambda **kw: calls.append(kw) or real(**kw))
    img = fake_registry.put("qa/app", image("reuse"), tag="v1")
    client = RegistryClient(registry)
    for _ in range(3):
        client.get_manifest("qa/app", img.digest)
    assert len(calls) == 1
    assert calls[0]["service"] == registry.hostname and calls[0]["user"].username == "portus"
    # minted up front for the registry's own service: no unauthenticated round trip first
    assert [r["auth"] for r in fake_registry.requests] == [True, True, True]


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
def test_unreachable_registry_is_unavailable(registry, internal_account, options):
    registry.hostname = "127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(RegistryUnavailable):
        RegistryClient(registry).get_manifest("qa/app", sha(b"x"))


@pytest.mark.django_db
def test_server_errors_are_unavailable(fake_registry, registry):
    fake_registry.down = True
    with pytest.raises(RegistryUnavailable):
        list(RegistryClient(registry).catalog())


# --- nothing the registry answers chooses the token (finding: challenge-driven minting) ----------------


def _claims(authorization: str) -> dict:
    import jwt

    return jwt.decode(authorization.removeprefix("Bearer "), options={"verify_signature": False})


@pytest.fixture
def minted(monkeypatch):
    """Every token the client mints: (audience-bearing registry's host, the scopes asked)."""
    import realm.internal as token_module

    calls = []
    real = token_module.issue_token

    def spy(**kwargs):
        calls.append((kwargs["registry"].hostname, [str(s) for s in kwargs["scopes"]]))
        return real(**kwargs)

    monkeypatch.setattr(token_module, "issue_token", spy)
    return calls


@pytest.mark.django_db
def test_a_challenge_naming_another_registry_gets_no_token_for_it(fake_registry, registry, minted, caplog):
    """A registry (or anyone on a plain-HTTP path) answering with another registry's service and a wide
    scope got a full-access token for that other registry."""
    from registries.services import registry_create

    other = registry_create(name="other", hostname="other.test.lan:5000", use_ssl=False, by=None, check=False)
    img = fake_registry.put("qa/app", image("attack"), tag="v1")
    fake_registry.service = other.hostname  # it accepts only tokens for the other registry
    fake_registry.challenge_service = other.hostname
    fake_registry.challenge_scope = "registry:catalog:* repository:x/y:pull,push,delete"
    with pytest.raises(RegistryAuthError, match="another service"):
        RegistryClient(registry).get_manifest("qa/app", img.digest)
    assert minted == [(registry.hostname, ["repository:qa/app:pull"])]
    sent = [_claims(r["authorization"]) for r in fake_registry.requests if r["authorization"]]
    assert sent and all(c["aud"] == registry.hostname for c in sent)
    assert all(c["access"] == [{"type": "repository", "name": "qa/app", "actions": ["pull"]}] for c in sent)
    assert "other.test.lan:5000" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("named", ["", " {service} ", "{SERVICE}"])
def test_a_challenge_naming_this_registry_or_none_is_fine(fake_registry, registry, named):
    img = fake_registry.put("qa/app", image("same"), tag="v1")
    fake_registry.challenge_service = named.format(service=fake_registry.address,
                                                   SERVICE=fake_registry.address.upper())
    fake_registry.refuse_tokens = 1
    assert RegistryClient(registry).get_manifest("qa/app", img.digest).digest == img.digest


@pytest.mark.django_db
def test_a_wider_scope_in_the_challenge_is_never_minted(fake_registry, registry, minted):
    img = fake_registry.put("qa/app", image("wide"), tag="v1")
    fake_registry.challenge_scope = "registry:catalog:* repository:qa/app:pull,push,delete repository:x/y:*"
    fake_registry.refuse_tokens = 1  # the cached token is refused once: a fresh one, for the same scope
    assert RegistryClient(registry).get_manifest("qa/app", img.digest).digest == img.digest
    assert minted == [(registry.hostname, ["repository:qa/app:pull"])] * 2
    for request in fake_registry.requests:
        assert _claims(request["authorization"])["access"] == [
            {"type": "repository", "name": "qa/app", "actions": ["pull"]}]


@pytest.mark.django_db
def test_a_token_refused_twice_is_an_auth_error_naming_the_service(fake_registry, registry):
    img = fake_registry.put("qa/app", image("twice"), tag="v1")
    fake_registry.refuse_tokens = 2
    with pytest.raises(RegistryAuthError, match=registry.hostname.replace(".", r"\.")):
        RegistryClient(registry).get_manifest("qa/app", img.digest)


@pytest.mark.django_db
@pytest.mark.parametrize("where", [
    "http://127.0.0.1:{storage}/v2/_catalog?last=ns1/app&n=2",  # another port
    "http://localhost:{registry}/v2/_catalog?last=ns1/app&n=2",  # another host name, same server
    "https://{address}/v2/_catalog?last=ns1/app&n=2",  # another scheme
])
def test_catalog_pages_off_the_registrys_origin_are_not_followed(fake_registry, registry, options, where):
    from registries.client import OffOriginLink
    from tests.webhooks.fakes import FakeStorage

    storage = FakeStorage(b'{"repositories": ["evil/app"]}')
    try:
        options.set("registry.catalog_page.value", 2)
        for name in ("ns0/app", "ns1/app", "ns2/app"):
            fake_registry.put(name, image(name), tag="latest")
        port = fake_registry.address.rsplit(":", 1)[1]
        target = where.format(storage=storage.port, registry=port, address=fake_registry.address)
        fake_registry.links["ns1/app"] = f'<{target}>; rel="next"'
        seen = []
        with pytest.raises(OffOriginLink, match="not followed"):
            seen.extend(RegistryClient(registry).catalog())
        assert seen == ["ns0/app", "ns1/app"]
        assert storage.requests == []
        assert len(fake_registry.fetches(part="/v2/_catalog")) == 1  # localhost: never asked
        assert not OffOriginLink.retryable
    finally:
        storage.stop()


@pytest.mark.django_db
def test_an_absolute_same_origin_link_is_followed(fake_registry, registry, options):
    options.set("registry.catalog_page.value", 2)
    for name in ("ns0/app", "ns1/app", "ns2/app"):
        fake_registry.put(name, image(name), tag="latest")
    fake_registry.links["ns1/app"] = f'<http://{fake_registry.address}/v2/_catalog?last=ns1/app&n=2>; rel="next"'
    assert list(RegistryClient(registry).catalog()) == ["ns0/app", "ns1/app", "ns2/app"]


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["http://127.0.0.1:{storage}/blobs/x", "http://localhost:{storage}/blobs/x"])
def test_a_redirect_to_storage_does_not_carry_the_token(fake_registry, registry, where):
    img = image("stored")
    fake_registry.put("qa/app", img, tag="v1")
    from tests.webhooks.fakes import FakeStorage

    storage = FakeStorage(img.body)
    try:
        path = f"/v2/qa/app/manifests/{img.digest}"
        fake_registry.redirects[path] = where.format(storage=storage.port)
        manifest = RegistryClient(registry).get_manifest("qa/app", img.digest)
        assert manifest.body == img.body
        assert fake_registry.requests[0]["authorization"].startswith("Bearer ")
        assert len(storage.requests) == 1
        assert "Authorization" not in storage.requests[0]["headers"]
        assert "authorization" not in {key.lower() for key in storage.requests[0]["headers"]}
    finally:
        storage.stop()


@pytest.mark.django_db
def test_cached_tokens_are_bounded(fake_registry, registry, monkeypatch):
    from registries import tokens

    monkeypatch.setattr(tokens, "_MAX_CACHED_TOKENS", 50)
    client = RegistryClient(registry)
    for i in range(200):
        client._token(f"repository:qa/app{i}:pull")
    assert len(tokens._tokens) <= 50


# --- what the registry answers is bounded ----------------------------------------------------------


@pytest.mark.django_db
def test_a_manifest_larger_than_the_registry_allows_is_refused_unread(fake_registry, registry):
    from registries.client import MAX_MANIFEST_BYTES, ResponseTooLarge
    from tests.webhooks.fakes import DOCKER_MANIFEST, Image

    body = b'{"layers": [' + b" " * MAX_MANIFEST_BYTES + b"]}"
    fake_registry.put("qa/app", Image(digest=sha(body), media_type=DOCKER_MANIFEST, body=body), tag="huge")
    with pytest.raises(ResponseTooLarge) as caught:
        RegistryClient(registry).get_manifest("qa/app", sha(body))
    assert not caught.value.retryable


@pytest.mark.django_db
def test_a_manifest_nested_beyond_the_parser_is_a_registry_error(fake_registry, registry):
    from registries.client import RegistryError
    from tests.webhooks.fakes import DOCKER_MANIFEST, Image

    body = b"[" * 200_000 + b"]" * 200_000
    fake_registry.put("qa/app", Image(digest=sha(body), media_type=DOCKER_MANIFEST, body=body), tag="deep")
    with pytest.raises(RegistryError, match="not JSON"):
        RegistryClient(registry).get_manifest("qa/app", sha(body))


@pytest.mark.django_db
def test_a_catalog_page_beyond_its_bound_is_refused(fake_registry, registry, monkeypatch):
    from registries import client
    from registries.client import ResponseTooLarge

    for number in range(50):
        fake_registry.put(f"team/app-{number:03}", image(f"page-{number}"), tag="v1")
    monkeypatch.setattr(client, "MAX_PAGE_BYTES", 256)
    with pytest.raises(ResponseTooLarge):
        list(RegistryClient(registry).catalog())


def test_a_hostile_challenge_is_parsed_in_linear_time():
    import time

    def cost(header: str) -> float:
        start = time.perf_counter()
        for _ in range(20):
            parse_challenge(header)
        return time.perf_counter() - start

    # Spaces between an unquoted value and a stray word made the old pattern quadratic (8,000 → 0.4 s).
    hostile = "Bearer a=" + " " * 8000 + "x x"
    baseline = 'Bearer realm="' + "r" * 8000 + '"'
    assert cost(hostile) < 25 * cost(baseline) + 0.05
    assert parse_challenge("Bearer realm=" + "r" * 10_000) is None  # longer than any registry sends
