"""/api/v1/namespaces/{id}/webhooks…: the same webhooks, rules and log as the pages, for scripts."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks import crypto, queue
from hooks.models import Webhook
from tests.api.conftest import client_for
from tests.fuzz.strategies import hostile_json, hostile_text

pytestmark = pytest.mark.django_db

BODY = {"webhook": {"name": "ci", "url": "https://ci.example.org/hook", "request_method": "POST",
                    "content_type": "application/json", "payload_format": "portus", "username": "bot",
                    "password": "hunter2", "headers": [{"name": "X-Team", "value": "qa"}],
                    "events": ["push", "pull"], "enabled": True}}


def post(client, namespace, body=BODY, path=""):
    return client.post(f"/api/v1/namespaces/{namespace.pk}/webhooks{path}", data=json.dumps(body),
                       content_type="application/json")


def test_create_answers_the_secret_once_and_never_shows_the_password(owner, namespace):
    api = client_for(owner)
    response = post(api, namespace)
    assert response.status_code == 201, response.content
    created = response.json()
    webhook = Webhook.objects.get()
    assert created["secret"] == crypto.decrypt(webhook.secret_encrypted)
    assert created["events"] == ["push", "pull"] and created["header_names"] == ["X-Team"]
    assert created["has_password"] is True and "password" not in created
    shown = api.get(f"/api/v1/namespaces/{namespace.pk}/webhooks/{webhook.pk}").json()
    assert "secret" not in shown and shown["secret_hint"] == created["secret"][:10]
    assert "hunter2" not in json.dumps(shown) and shown["updatable"] is True
    listed = api.get(f"/api/v1/namespaces/{namespace.pk}/webhooks")
    assert [row["id"] for row in listed.json()] == [webhook.pk] and listed["X-Total"] == "1"
    assert api.get(f"/api/v1/namespaces/{namespace.pk}").json()["webhooks_count"] == 1


def test_update_changes_only_what_is_given(owner, namespace):
    api = client_for(owner)
    webhook_id = post(api, namespace).json()["id"]
    url = f"/api/v1/namespaces/{namespace.pk}/webhooks/{webhook_id}"
    response = api.put(url, data=json.dumps({"webhook": {"events": ["delete"], "enabled": False}}),
                       content_type="application/json")
    assert response.status_code == 200, response.content
    webhook = Webhook.objects.get()
    assert webhook.events == ["delete"] and not webhook.enabled
    assert crypto.decrypt(webhook.password_encrypted) == "hunter2" and webhook.header_names == ["X-Team"]
    api.put(url, data=json.dumps({"headers": [], "password": ""}), content_type="application/json")  # unwrapped
    webhook.refresh_from_db()
    assert webhook.header_names == [] and webhook.password_encrypted == ""
    assert api.delete(url).status_code == 204 and not Webhook.objects.exists()


def test_secret_ping_deliveries_and_redeliver(owner, namespace, receiver, private_allowed):
    api = client_for(owner)
    webhook_id = post(api, namespace, {"url": receiver.url()}).json()["id"]
    base = f"/api/v1/namespaces/{namespace.pk}/webhooks/{webhook_id}"
    rotated = api.post(f"{base}/secret")
    assert rotated.status_code == 201 and rotated.json()["secret"].startswith("whsec_")
    ping = api.post(f"{base}/ping")
    assert ping.status_code == 201 and ping.json()["status"] == "pending"
    queue.drain()
    [row] = api.get(f"{base}/deliveries").json()
    assert row["status"] == "succeeded" and row["response_status"] == 200 and row["event_type"] == "ping"
    assert row["request_header"]["X-Portus-Signature"].startswith("sha256=")
    assert api.get(f"{base}/deliveries/{row['id']}").json()["uuid"] == row["uuid"]
    again = api.post(f"{base}/deliveries/{row['id']}/redeliver")
    assert again.status_code == 201 and again.json()["event_id"] == row["event_id"]
    assert again.json()["redelivery_of"] == row["id"]
    queue.drain()
    newest_first = [d["id"] for d in api.get(f"{base}/deliveries").json()]
    assert newest_first == sorted(newest_first, reverse=True) and len(newest_first) == 2
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("contributor", 403), ("bot", 403),
                                              ("outsider", 404), ("anonymous", 401)])
def test_only_those_who_manage_the_namespace_reach_its_webhooks(request, owner, namespace, role, status):
    webhook_id = post(client_for(owner), namespace).json()["id"]
    api = client_for(None if role == "anonymous" else request.getfixturevalue(role))
    base = f"/api/v1/namespaces/{namespace.pk}/webhooks"
    assert api.get(base).status_code == status
    assert post(api, namespace).status_code == status
    assert api.get(f"{base}/{webhook_id}").status_code == status
    assert api.post(f"{base}/{webhook_id}/secret").status_code == status
    assert api.delete(f"{base}/{webhook_id}").status_code == status
    assert Webhook.objects.count() == 1


def test_a_webhook_of_another_namespace_is_not_found(owner, namespace, team, registry):
    from namespaces.services import namespace_create

    other = namespace_create(name="other", team=team, by=owner, registry=registry)
    webhook_id = post(client_for(owner), other).json()["id"]
    assert client_for(owner).get(f"/api/v1/namespaces/{namespace.pk}/webhooks/{webhook_id}").status_code == 404


@pytest.mark.parametrize(("fields", "field"), [
    ({"url": "http://10.0.0.1/"}, "url"), ({"url": "gopher://x/"}, "url"), ({"url": ""}, "url"),
    ({"headers": [{"name": "Host", "value": "x"}]}, "headers"),
    ({"headers": [{"name": "X-A", "value": "a\r\nInjected: 1"}]}, "headers"),
    ({"headers": [{"name": "Bad Name", "value": "x"}]}, "headers"),
    ({"headers": [{"name": f"X-{i}", "value": "v"} for i in range(11)]}, "headers"),
    ({"headers": "X-A 1"}, "headers"), ({"request_method": "DELETE"}, "request_method"),
    ({"payload_format": "cloudevents", "request_method": "GET"}, "payload_format"),
    ({"username": "a:b", "password": "x"}, "username"),
    ({"username": "u", "headers": [{"name": "Authorization", "value": "Bearer x"}]}, "headers"),
])
def test_bad_fields_are_refused_naming_the_field(owner, namespace, fields, field):
    response = post(client_for(owner), namespace, {"webhook": {"url": "https://ci.example.org/", **fields}})
    assert response.status_code in (400, 422), response.content
    assert field in json.dumps(response.json()["message"])
    assert not Webhook.objects.exists()


@pytest.fixture
def api(owner):
    return client_for(owner)


hostile_url = st.one_of(
    hostile_text(80),
    st.builds(lambda scheme, host, rest: f"{scheme}://{host}{rest}",
              st.sampled_from(["http", "https", "HTTP", "ftp", "file", ""]),
              st.one_of(hostile_text(40), st.sampled_from(["127.0.0.1", "[::1]", "0x7f.1", "017700000001",
                                                           "2130706433", "[::ffff:7f00:1]", "localhost.",
                                                           "example.org:99999", "ex\u00e4mple.org", "a" * 300])),
              hostile_text(60)),
)
hostile_headers = st.one_of(
    hostile_json(2),
    st.lists(st.fixed_dictionaries({"name": hostile_text(80), "value": hostile_text(300)}), max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(url=hostile_url, headers=hostile_headers, name=hostile_json(1), username=hostile_json(1),
       events=hostile_json(1))
def test_hostile_bodies_never_cause_a_server_error(api, namespace, url, headers, name, username, events):
    body = {"webhook": {"url": url, "headers": headers, "name": name, "username": username, "events": events}}
    response = post(api, namespace, body)
    assert response.status_code in (201, 400, 422), (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    if response.status_code == 201:
        webhook = Webhook.objects.get(pk=response.json()["id"])
        assert webhook.url.startswith(("http://", "https://", "HTTP://"))
        webhook.delete()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(url=hostile_url, headers=st.text(max_size=400), name=hostile_text(120))
def test_hostile_forms_never_cause_a_server_error(owner, namespace, url, headers, name):
    from django.test import Client

    client = Client()
    client.force_login(owner, backend="accounts.backends.PortusBackend")
    clean = {k: v.replace("\x00", "").encode("utf-8", "replace").decode("utf-8") for k, v in
             {"url": url, "headers": headers, "name": name}.items()}
    response = client.post(f"/namespaces/{namespace.pk}/webhooks/new",
                           {**clean, "request_method": "POST", "content_type": "application/json",
                            "payload_format": "portus", "events": ["push"]})
    assert response.status_code in (201, 400), response.status_code
    Webhook.objects.all().delete()
