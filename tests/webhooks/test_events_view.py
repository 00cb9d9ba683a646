"""`/v2/webhooks/events`: authenticate, store every event, answer 202 at once (PROTOCOL.md §3)."""

from __future__ import annotations

import json

import pytest

from mirror.models import Event
from tests.webhooks.fakes import EVENTS_V1, EVENTS_V2, SERVICE, event, sha
from tests.wsgi_client import WsgiClient


@pytest.fixture(params=["wsgi", "django-test-client"])
def client(request, client):
    """Each test twice: through the product's WSGI application (the short way, portus/lean.py) and
    through Django's test handler (the whole stack): both must give the same answers."""
    return WsgiClient() if request.param == "wsgi" else client


URL = "/v2/webhooks/events"
SECRET = "test-webhook-secret"
DIGEST = sha(b"manifest")


def post(client, body, *, content_type=EVENTS_V1, secret: str | None = SECRET, **extra):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    if secret is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client.post(URL, data=data, content_type=content_type, **extra)


def push(tag="latest", **kwargs):
    return event("push", "qa/app", digest=DIGEST, tag=tag, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("secret", [None, "wrong", "", "test-webhook-secret-but-longer"])
def test_missing_or_wrong_secret_is_refused_and_nothing_is_stored(client, registry, secret):
    response = post(client, {"events": [push()]}, secret=secret)
    assert response.status_code == 401
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_basic_credentials_are_not_the_secret(client, registry):
    response = client.post(URL, data=json.dumps({"events": [push()]}), content_type=EVENTS_V1,
                           HTTP_AUTHORIZATION="Basic dGVzdDp0ZXN0")
    assert response.status_code == 401
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_without_a_configured_secret_everything_is_refused(client, registry, options, caplog):
    options.set("secrets.webhook_secret", "")
    response = post(client, {"events": [push()]}, secret="")
    assert response.status_code == 401
    assert not Event.objects.exists()
    assert "webhook_secret" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", [EVENTS_V1, EVENTS_V2, "application/json"])
def test_accepts_both_registry_content_types_and_plain_json(client, registry, content_type):
    response = post(client, {"events": [push()]}, content_type=content_type)
    assert response.status_code == 202
    stored = Event.objects.get()
    assert stored.status == Event.Status.PENDING
    assert (stored.action, stored.repository, stored.tag, stored.digest) == ("push", "qa/app", "latest", DIGEST)
    assert stored.registry == registry
    assert stored.request_host == SERVICE
    assert stored.actor == "admin"


@pytest.mark.django_db
def test_the_registry_is_never_called(client, registry, monkeypatch):
    import requests

    def forbidden(*args, **kwargs):
        raise AssertionError("the webhook view called the registry")

    monkeypatch.setattr(requests.Session, "request", forbidden)
    assert post(client, {"events": [push()]}).status_code == 202


@pytest.mark.django_db
def test_duplicate_event_ids_are_stored_once(client, registry):
    first = push(event_id="same-id")
    assert post(client, {"events": [first, first]}).status_code == 202
    assert post(client, {"events": [first]}).status_code == 202
    assert Event.objects.filter(event_id="same-id").count() == 1


@pytest.mark.django_db
def test_raw_event_is_kept_exactly(client, registry):
    sent = push(event_id="raw-1")
    sent["target"]["references"] = [{"digest": "x"}]
    post(client, {"events": [sent]})
    assert Event.objects.get().payload == sent


@pytest.mark.django_db
def test_event_time_is_the_events_own_time(client, registry):
    post(client, {"events": [push(at="2024-05-01T10:00:00.123456789Z")]})
    stored = Event.objects.get()
    assert stored.timestamp.isoformat() == "2024-05-01T10:00:00.123456+00:00"


@pytest.mark.django_db
def test_offset_timestamps_are_understood(client, registry):
    post(client, {"events": [push(at="2016-03-09T14:44:26.402973972-08:00")]})
    assert Event.objects.get().timestamp.isoformat() == "2016-03-09T22:44:26.402973+00:00"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"not json at all", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"events": 7}',
                                  b'{"something": "else"}', b"null", b"[" * 100000])
def test_malformed_body_is_stored_flagged_with_202(client, registry, body):
    response = post(client, body)
    assert response.status_code == 202
    stored = Event.objects.get()
    assert stored.status == Event.Status.FLAGGED
    assert stored.last_error


@pytest.mark.django_db
def test_the_same_malformed_body_twice_is_stored_once(client, registry):
    post(client, b"not json")
    post(client, b"not json")
    assert Event.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("mutate, reason", [
    (lambda e: e.pop("action"), "no action"),
    (lambda e: e.update(action="explode"), "unknown action"),
    (lambda e: e.pop("target"), "no target"),
    (lambda e: e["target"].pop("repository"), "repository"),
    (lambda e: e["target"].update(repository="Not/Valid"), "repository"),
    (lambda e: e["target"].update(digest=""), "without a digest"),
    (lambda e: e["target"].update(digest="nonsense"), "digest"),
    (lambda e: e["target"].update(tag="bad tag!"), "tag"),
    (lambda e: e.update(timestamp="yesterday"), "timestamp"),
    (lambda e: e.update(target="a string"), "no target"),
    (lambda e: e["target"].update(digest="sha512:" + "ab" * 100), "longer than"),
])
def test_malformed_events_are_stored_flagged_with_202(client, registry, mutate, reason):
    bad = push()
    mutate(bad)
    good = push(tag="other")
    response = post(client, {"events": [bad, good]})
    assert response.status_code == 202
    flagged = Event.objects.get(status=Event.Status.FLAGGED)
    assert reason in flagged.last_error
    assert Event.objects.get(tag="other").status == Event.Status.PENDING


@pytest.mark.django_db
def test_event_without_id_gets_a_stable_one(client, registry):
    anonymous = push()
    del anonymous["id"]
    post(client, {"events": [anonymous]})
    post(client, {"events": [anonymous]})
    stored = Event.objects.get()
    assert stored.event_id.startswith("sha256:")
    assert stored.status == Event.Status.FLAGGED


@pytest.mark.django_db
def test_non_object_events_are_flagged(client, registry):
    post(client, {"events": ["a string", 42, None, push()]})
    assert Event.objects.filter(status=Event.Status.FLAGGED).count() == 3
    assert Event.objects.filter(status=Event.Status.PENDING).count() == 1


@pytest.mark.django_db
def test_unknown_registry_host_is_flagged(client, registry):
    post(client, {"events": [push(host="elsewhere.example:5000")]})
    stored = Event.objects.get()
    assert stored.status == Event.Status.FLAGGED
    assert "elsewhere.example:5000" in stored.last_error


@pytest.mark.django_db
def test_blob_pushes_mounts_and_internal_pulls_are_ignored(client, registry):
    post(client, {"events": [
        event("push", "qa/app", digest=sha(b"layer"), media_type="application/octet-stream"),
        event("mount", "qa/app", digest=sha(b"layer2"), media_type="application/octet-stream"),
        event("pull", "qa/app", digest=DIGEST, tag="latest", actor="portus"),
        event("pull", "qa/app", digest=sha(b"blob"), media_type="application/octet-stream"),
        event("push", "qa/app", digest=sha(b"child")),  # a child manifest, by digest
    ]})
    assert set(Event.objects.values_list("status", flat=True)) == {Event.Status.IGNORED}
    assert all(e.processed_at for e in Event.objects.all())


@pytest.mark.django_db
def test_unexpected_content_type_is_stored_flagged(client, registry):
    response = post(client, {"events": [push()]}, content_type="text/plain")
    assert response.status_code == 202
    assert Event.objects.get().status == Event.Status.FLAGGED


@pytest.mark.django_db
def test_oversized_body_is_413(client, registry, options):
    options.set("limits.max_body_bytes", 2000)
    response = post(client, {"events": [push(tag=f"t{i}") for i in range(20)]})
    assert response.status_code == 413
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_oversized_body_without_auth_is_401_first(client, registry, options):
    options.set("limits.max_body_bytes", 10)
    assert post(client, {"events": [push()]}, secret=None).status_code == 401


@pytest.mark.django_db
def test_get_is_not_allowed(client, registry):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {SECRET}").status_code == 405


@pytest.mark.django_db
def test_empty_envelope_is_fine(client, registry):
    assert post(client, {"events": []}).status_code == 202
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_odd_unicode_and_huge_strings_do_not_break_anything(client, registry):
    weird = push(event_id="weird-\u0000-\ud800-\U0001f600")
    weird["actor"]["name"] = "\u0000\ud800" + "é" * 10000
    weird["request"]["useragent"] = "\U0001f433" * 50000
    weird["target"]["url"] = "\x00" * 1000
    long_id = push(event_id="x" * 5000)
    body = json.dumps({"events": [weird, long_id]}).encode()
    response = post(client, body)
    assert response.status_code == 202
    assert Event.objects.count() == 2
    stored = Event.objects.get(actor__contains="éé")
    assert len(stored.actor) == 255
    assert stored.payload["request"]["useragent"] == "\U0001f433" * 50000
    assert stored.payload["actor"]["name"].startswith("\u0000\ud800")
    other = Event.objects.exclude(pk=stored.pk).get()
    assert other.event_id.startswith("sha256:") and stored.event_id.startswith("sha256:")
    assert other.payload["id"] == "x" * 5000


@pytest.mark.django_db
def test_raw_utf8_body_with_invalid_bytes_is_stored(client, registry):
    response = post(client, b'{"events": [{"id": "\xff\xfe"}]}')
    assert response.status_code == 202
    assert Event.objects.get().status == Event.Status.FLAGGED
