"""Deliveries to a real HTTP server: what is sent for each event and format, signatures, retries with
backoff, redelivery, the log."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from hooks import queue
from hooks.models import Delivery, Webhook
from hooks.services import WebhookInput, webhook_create
from mirror import processing
from tests.hooks.helpers import notify, push, readme_verifier
from tests.webhooks.fakes import event

pytestmark = pytest.mark.django_db


def make(namespace, receiver, owner, **fields):
    data = WebhookInput(url=fields.pop("url", receiver.url()), **fields)
    return webhook_create(namespace=namespace, data=data, by=owner)


def test_a_push_is_delivered_signed_with_the_documented_payload(client, fake_registry, namespace, owner,
                                                                receiver, private_allowed, contributor):
    webhook, secret = make(namespace, receiver, owner, name="ci")
    img = push(client, fake_registry)
    assert Delivery.objects.filter(webhook=webhook, status="pending").count() == 1
    assert receiver.requests == []  # queued by the mirror, sent by the delivery loop
    assert queue.drain() == 1
    [got] = receiver.requests
    assert got.method == "POST" and got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert got.headers["X-Portus-Event"] == "push"
    body = json.loads(got.body)
    assert set(body) == {"id", "event", "time", "registry", "namespace", "repository", "tag", "digest",
                         "media_type", "size", "platforms", "actor", "pull_reference"}
    assert body["event"] == "push" and body["repository"] == "qa/app" and body["tag"] == "latest"
    assert body["digest"] == img.digest and body["size"] == img.size and body["actor"] == "carl"
    assert body["media_type"] == img.media_type and body["platforms"] == []
    assert body["registry"] == "registry.test.lan:5000" and body["namespace"] == "qa"
    assert body["pull_reference"] == "registry.test.lan:5000/qa/app:latest"
    assert readme_verifier()(secret, got.headers, got.body)
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.response_status == 200
    assert delivery.response_body == "ok" and delivery.duration_ms is not None
    assert got.headers["X-Portus-Delivery"] == str(delivery.uuid)
    assert Webhook.objects.get(pk=webhook.pk).last_status == "succeeded"


def test_an_index_push_carries_its_platforms(client, fake_registry, namespace, owner, receiver, private_allowed):
    from tests.webhooks.fakes import index

    make(namespace, receiver, owner)
    img = fake_registry.put("qa/multi", index("m", [("linux", "amd64", ""), ("linux", "arm64", "v8")]),
                            tag="1.0")
    notify(client, event("push", "qa/multi", digest=img.digest, tag="1.0", media_type=img.media_type))
    processing.drain()
    queue.drain()
    body = json.loads(receiver.requests[0].body)
    assert [(p["os"], p["architecture"], p["variant"]) for p in body["platforms"]] == [
        ("linux", "amd64", ""), ("linux", "arm64", "v8")]
    assert all(p["digest"].startswith("sha256:") and p["size"] > 0 for p in body["platforms"])


def test_delete_is_delivered_and_pull_only_when_asked(client, fake_registry, namespace, owner, receiver,
                                                      private_allowed):
    make(namespace, receiver, owner)  # push and delete, not pull
    pulls = make(namespace, receiver, owner, url=receiver.url("/pulls"), on_push=False, on_delete=False,
                 on_pull=True)[0]
    img = push(client, fake_registry)
    fake_registry.untag("qa/app", "latest")
    notify(client, event("delete", "qa/app", digest=img.digest, tag="latest", actor="olivia"),
           event("pull", "qa/app", digest=img.digest, tag="latest", actor="vera"),
           event("pull", "qa/app", digest=img.digest, tag="latest", actor="portus"))  # our own read: never
    processing.drain()
    queue.drain()
    seen = sorted((r.path, json.loads(r.body)["event"], json.loads(r.body)["actor"]) for r in receiver.requests)
    assert seen == [("/hook", "delete", "olivia"), ("/hook", "push", "carl"), ("/pulls", "pull", "vera")]
    assert Delivery.objects.filter(webhook=pulls).count() == 1


def test_disabled_webhooks_and_other_namespaces_get_nothing(client, fake_registry, namespace, owner, receiver,
                                                            private_allowed):
    make(namespace, receiver, owner, enabled=False)
    push(client, fake_registry)
    push(client, fake_registry, "elsewhere/app")
    assert Delivery.objects.count() == 0


def test_the_global_namespace_gets_its_own_events_and_a_retired_one_none(client, fake_registry, namespace, owner,
                                                                         receiver, private_allowed):
    from namespaces.retirement import namespace_retire
    from namespaces.services import global_namespace_ensure

    top = make(global_namespace_ensure(registry=namespace.registry), receiver, owner, url=receiver.url("/top"))[0]
    qa = make(namespace, receiver, owner)[0]
    push(client, fake_registry, "busybox")  # a repository of the global namespace
    push(client, fake_registry, "qa/app")
    assert sorted(Delivery.objects.values_list("webhook_id", "payload__repository")) == [
        (top.pk, "busybox"), (qa.pk, "qa/app")]
    namespace_retire(namespace=namespace, by=owner, former_owner="qa")
    push(client, fake_registry, "qa/app", tag="v2", seed="two")
    push(client, fake_registry, "busybox", tag="v2", seed="two")
    assert Delivery.objects.filter(webhook=qa).count() == 1  # retired: silent
    assert Delivery.objects.filter(webhook=top).count() == 2


def test_an_event_processed_twice_is_queued_once(client, fake_registry, namespace, owner, receiver,
                                                 private_allowed):
    from mirror.models import Event
    from mirror.services import event_retry

    make(namespace, receiver, owner)
    push(client, fake_registry)
    event_retry(event=Event.objects.get(action="push"), by=owner)
    processing.drain()
    assert Delivery.objects.count() == 1


def test_500s_are_retried_with_exponential_backoff_then_succeed(client, fake_registry, namespace, owner,
                                                               receiver, private_allowed, options):
    options.set("webhooks.backoff_seconds", 10)
    receiver.answers = [(500, {}, b"down"), (503, {"Retry-After": "1"}, b"still down"), (200, {}, b"fine")]
    webhook, secret = make(namespace, receiver, owner)
    push(client, fake_registry)
    t0 = timezone.now()
    assert queue.drain(now=t0) == 1
    delivery = Delivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at == t0 + timedelta(seconds=10)
    assert delivery.error == "answered 500" and delivery.response_body == "down"
    assert queue.drain(now=t0 + timedelta(seconds=9)) == 0  # not due yet
    assert queue.drain(now=t0 + timedelta(seconds=10)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    assert delivery.next_attempt_at == t0 + timedelta(seconds=10 + 20)
    assert queue.drain(now=t0 + timedelta(seconds=30)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 3, 200)
    assert len(receiver.requests) == 3
    # Each attempt is signed anew, with its own time; the event id stays.
    verify = readme_verifier()
    for got, moment in zip(receiver.requests, (t0, t0 + timedelta(seconds=10), t0 + timedelta(seconds=30)),
                           strict=True):
        assert got.headers["X-Portus-Timestamp"] == str(int(moment.timestamp()))
        assert verify(secret, got.headers, got.body, now=moment.timestamp())
    assert len({json.loads(r.body)["id"] for r in receiver.requests}) == 1


def test_attempts_are_bounded(client, fake_registry, namespace, owner, receiver, private_allowed, options):
    options.set("webhooks.max_attempts", 3)
    receiver.answers = [(500, {}, b"")]
    webhook, _ = make(namespace, receiver, owner)
    push(client, fake_registry)
    moment = timezone.now()
    for _ in range(10):
        queue.drain(now=moment)
        moment += timedelta(hours=2)
    delivery = Delivery.objects.get(webhook=webhook)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.finished_at is not None and len(receiver.requests) == 3


def test_no_answer_is_a_failed_attempt(client, fake_registry, namespace, owner, private_allowed):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    webhook, _ = webhook_create(namespace=namespace, data=WebhookInput(url=f"http://127.0.0.1:{port}/"), by=owner)
    push(client, fake_registry)
    queue.drain()
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery.status == "pending" and delivery.response_status is None
    assert "ConnectionRefused" in delivery.error


def test_redeliver_sends_the_same_event_again(client, fake_registry, namespace, owner, receiver, private_allowed):
    webhook, secret = make(namespace, receiver, owner)
    push(client, fake_registry)
    queue.drain()
    first = Delivery.objects.get(webhook=webhook)
    again = queue.delivery_redeliver(delivery=first)
    queue.drain()
    again.refresh_from_db()
    assert again.status == "succeeded" and again.redelivery_of_id == first.pk
    one, two = receiver.requests
    assert json.loads(one.body) == json.loads(two.body)
    assert one.headers["X-Portus-Delivery"] != two.headers["X-Portus-Delivery"]
    assert readme_verifier()(secret, two.headers, two.body)


def test_form_get_basic_auth_and_custom_headers(client, fake_registry, namespace, owner, receiver,
                                                private_allowed):
    form, secret = make(namespace, receiver, owner, url=receiver.url("/form"),
                        content_type="application/x-www-form-urlencoded", username="ci", password="pä:ss",
                        headers=[("X-Team", "qa"), ("Authorization-Extra", "token 1")])
    get, get_secret = make(namespace, receiver, owner, url=receiver.url("/get?a=1"), request_method="GET")
    push(client, fake_registry)
    queue.drain()
    by_path = {r.path: r for r in receiver.requests}
    posted = by_path["/form"]
    assert posted.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(parse_qs(posted.body.decode())["payload"][0])["repository"] == "qa/app"
    assert posted.headers["Authorization"] == "Basic " + base64.b64encode("ci:pä:ss".encode()).decode()
    assert posted.headers["X-Team"] == "qa" and posted.headers["Authorization-Extra"] == "token 1"
    assert readme_verifier()(secret, posted.headers, posted.body)
    fetched = by_path["/get"]
    assert fetched.method == "GET" and fetched.body == b"" and "Content-Type" not in fetched.headers
    query = parse_qs(fetched.query)
    assert query["a"] == ["1"] and json.loads(query["payload"][0])["tag"] == "latest"
    assert readme_verifier()(get_secret, fetched.headers, fetched.query.split("a=1&", 1)[1].encode())
    # The log never shows the secrets.
    logged = Delivery.objects.get(webhook=form)
    assert logged.request_headers["Authorization"] == "Basic [ci:hidden]"
    assert logged.request_headers["X-Team"] == "[hidden]"
    assert "pä:ss" not in json.dumps(logged.request_headers)


def test_cloudevents_and_slack_formats(client, fake_registry, namespace, owner, receiver, private_allowed):
    make(namespace, receiver, owner, url=receiver.url("/ce"), payload_format="cloudevents")
    make(namespace, receiver, owner, url=receiver.url("/slack"), payload_format="slack")
    img = push(client, fake_registry, actor="carl")
    queue.drain()
    by_path = {r.path: r for r in receiver.requests}
    cloud = by_path["/ce"]
    assert cloud.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    doc = json.loads(cloud.body)
    assert doc["specversion"] == "1.0" and doc["type"] == "org.portus.image.push"
    assert doc["subject"] == "qa/app:latest" and doc["source"] == "//portus.test.lan/namespaces/qa"
    assert doc["datacontenttype"] == "application/json" and doc["data"]["digest"] == img.digest
    assert doc["id"] == doc["data"]["id"] and doc["time"] == doc["data"]["time"]
    slack = json.loads(by_path["/slack"].body)
    assert slack == {"text": f"carl pushed qa/app:latest ({img.digest[:19]}…) on registry.test.lan:5000"}


def test_slack_text_escapes_its_control_characters():
    from hooks.payloads import slack_text

    text = slack_text({"event": "push", "actor": "<!channel>", "repository": "a&b", "tag": "", "digest": "",
                       "registry": "r"})
    assert text == "&lt;!channel&gt; pushed a&amp;b on r"


def test_the_log_is_bounded(client, fake_registry, namespace, owner, receiver, private_allowed, options):
    options.set("webhooks.deliveries_kept_per_webhook", 2)
    options.set("webhooks.deliveries_kept_days", 1)
    webhook, _ = make(namespace, receiver, owner)
    for _ in range(4):
        queue.ping_queue(webhook=webhook, by=owner)
        queue.drain()
    queue.ping_queue(webhook=webhook, by=owner)  # queued: never pruned
    assert queue.deliveries_prune() == 2
    assert Delivery.objects.filter(webhook=webhook).count() == 3
    assert queue.deliveries_prune(now=timezone.now() + timedelta(days=2)) == 2
    assert list(Delivery.objects.filter(webhook=webhook).values_list("status", flat=True)) == ["pending"]


def test_a_secret_unreadable_under_a_new_key_fails_the_delivery_saying_so(client, fake_registry, namespace,
                                                                           owner, receiver, private_allowed,
                                                                           settings):
    webhook, _ = make(namespace, receiver, owner)
    queue.ping_queue(webhook=webhook, by=owner)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    queue.drain()
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery.status == "failed" and "secret_key_base" in delivery.error
    assert receiver.requests == []


def test_a_redelivery_outlives_its_original(client, fake_registry, namespace, owner, receiver, private_allowed):
    webhook, _ = make(namespace, receiver, owner)
    push(client, fake_registry)
    queue.drain()
    first = Delivery.objects.get(webhook=webhook)
    again = queue.delivery_redeliver(delivery=first)
    first.delete()  # pruned from the log
    again.refresh_from_db()
    assert again.redelivery and again.redelivery_of_id is None
    webhook.delete()
    assert not Delivery.objects.exists()
