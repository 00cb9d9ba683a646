"""The webhook pages under a namespace: who may open them, the form, the secret shown once, test, log,
redelivery."""

from __future__ import annotations

import re

import pytest

from activities.models import Activity
from hooks import crypto, queue
from hooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

FORM = {"name": "ci", "url": "https://ci.example.org/hook", "request_method": "POST",
        "content_type": "application/json", "payload_format": "portus", "events": ["push", "delete"],
        "username": "bot", "password": "hunter2", "headers": "X-Team: qa\nX-Token: t0k3n", "enabled": "on"}


def create(as_user, user, namespace, **changes):
    return as_user(user).post(f"/namespaces/{namespace.pk}/webhooks/new", {**FORM, **changes})


def test_an_owner_creates_a_webhook_and_sees_the_secret_once(as_user, owner, namespace):
    response = create(as_user, owner, namespace)
    assert response.status_code == 201
    html = response.content.decode()
    secret = re.search(r'id="webhook-secret"[^>]*>(whsec_[^<]+)<', html).group(1)
    webhook = Webhook.objects.get()
    assert crypto.decrypt(webhook.secret_encrypted) == secret
    assert (webhook.username, crypto.decrypt(webhook.password_encrypted)) == ("bot", "hunter2")
    assert webhook.header_names == ["X-Team", "X-Token"] and webhook.events == ["push", "delete"]
    assert Activity.objects.filter(key="webhook.create", namespace=namespace).exists()
    page = as_user(owner).get(f"/namespaces/{namespace.pk}/webhooks/{webhook.pk}").content.decode()
    assert secret not in page and "hunter2" not in page and "t0k3n" not in page
    assert webhook.secret_hint in page and "X-Team, X-Token" in page
    assert "https://ci.example.org/hook" in as_user(owner).get(f"/namespaces/{namespace.pk}/webhooks").content.decode()
    assert f"/namespaces/{namespace.pk}/webhooks" in as_user(owner).get(f"/namespaces/{namespace.pk}").content.decode()


def test_editing_keeps_the_password_and_headers_unless_asked(as_user, owner, namespace):
    create(as_user, owner, namespace)
    webhook = Webhook.objects.get()
    url = f"/namespaces/{namespace.pk}/webhooks/{webhook.pk}/edit"
    edit = as_user(owner).get(url).content.decode()
    assert "hunter2" not in edit and "t0k3n" not in edit and 'value="bot"' in edit
    response = as_user(owner).post(url, {**FORM, "password": "", "headers": "", "name": "renamed"})
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.name == "renamed" and crypto.decrypt(webhook.password_encrypted) == "hunter2"
    assert webhook.header_names == ["X-Team", "X-Token"]
    as_user(owner).post(url, {**FORM, "password": "", "headers": "", "clear_password": "on", "clear_headers": "on"})
    webhook.refresh_from_db()
    assert webhook.password_encrypted == "" and webhook.header_names == [] and webhook.headers_encrypted == ""


@pytest.mark.parametrize(("field", "value", "message"), [
    ("url", "http://127.0.0.1:8080/", "loopback"),
    ("url", "ftp://example.org/", "Only http"),
    ("url", "http://user:pw@example.org/", "credentials"),
    ("headers", "Host: evil.example", "cannot be set"),
    ("headers", "Transfer-Encoding: chunked", "cannot be set"),
    ("headers", "X-Portus-Signature: forged", "cannot be set"),
    ("headers", "no colon here", "no colon"),
    ("headers", "\n".join(f"X-H{i}: v" for i in range(11)), "At most 10"),
    ("payload_format", "cloudevents", "CloudEvents"),
])
def test_bad_input_is_refused_with_a_reason(as_user, owner, namespace, field, value, message):
    changes = {field: value}
    if field == "payload_format":
        changes["content_type"] = "application/x-www-form-urlencoded"
    response = create(as_user, owner, namespace, **changes)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Webhook.objects.exists()


def test_viewers_and_contributors_are_refused_outsiders_see_nothing(as_user, owner, contributor, viewer, outsider,
                                                                    namespace):
    create(as_user, owner, namespace)
    webhook = Webhook.objects.get()
    base = f"/namespaces/{namespace.pk}/webhooks"
    pages = [base, f"{base}/new", f"{base}/{webhook.pk}", f"{base}/{webhook.pk}/edit"]
    for page in pages:
        assert as_user(viewer).get(page).status_code == 403, page
        assert as_user(contributor).get(page).status_code == 403, page
        assert as_user(outsider).get(page).status_code == 404, page
    for action in ("secret", "ping", "delete"):
        assert as_user(contributor).post(f"{base}/{webhook.pk}/{action}").status_code == 403
        assert as_user(outsider).post(f"{base}/{webhook.pk}/{action}").status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists() and not Delivery.objects.exists()


def test_the_options_close_the_doors_to_owners_not_to_admins(as_user, owner, admin, namespace, options):
    options.set("user_permission.create_webhook.enabled", False)
    assert create(as_user, owner, namespace).status_code == 403
    assert create(as_user, admin, namespace).status_code == 201
    options.set("user_permission.manage_webhook.enabled", False)
    assert as_user(owner).get(f"/namespaces/{namespace.pk}/webhooks").status_code == 403
    assert as_user(admin).get(f"/namespaces/{namespace.pk}/webhooks").status_code == 200


def test_rotate_ping_log_redeliver_delete(as_user, owner, namespace, receiver, private_allowed):
    create(as_user, owner, namespace, url=receiver.url(), username="", password="", headers="")
    webhook = Webhook.objects.get()
    base = f"/namespaces/{namespace.pk}/webhooks/{webhook.pk}"
    old = crypto.decrypt(webhook.secret_encrypted)
    rotated = as_user(owner).post(f"{base}/secret")
    assert rotated.status_code == 200
    new = re.search(r'id="webhook-secret"[^>]*>(whsec_[^<]+)<', rotated.content.decode()).group(1)
    webhook.refresh_from_db()
    assert new != old and crypto.decrypt(webhook.secret_encrypted) == new
    assert as_user(owner).post(f"{base}/ping").status_code == 302
    queue.drain()
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded" and receiver.requests[0].headers["X-Portus-Event"] == "ping"
    log = as_user(owner).get(base).content.decode()
    assert f"{base}/deliveries/{delivery.pk}" in log and "Succeeded" in log
    detail = as_user(owner).get(f"{base}/deliveries/{delivery.pk}").content.decode()
    assert "X-Portus-Signature" in detail and "&quot;event&quot;:&quot;ping&quot;" in detail
    again = as_user(owner).post(f"{base}/deliveries/{delivery.pk}/redeliver")
    assert again.status_code == 302
    assert Delivery.objects.filter(redelivery_of=delivery).count() == 1
    assert as_user(owner).get(f"{base}/delete").status_code == 200
    assert as_user(owner).post(f"{base}/delete").status_code == 302
    assert not Webhook.objects.exists() and not Delivery.objects.exists()


def test_forms_need_the_csrf_token(as_user, owner, namespace):
    response = as_user(owner, enforce_csrf=True).post(f"/namespaces/{namespace.pk}/webhooks/new", FORM)
    assert response.status_code == 403 and not Webhook.objects.exists()


def test_the_admin_status_page_shows_failing_deliveries(as_user, admin, owner, namespace, options):
    options.set("webhooks.allow_private_targets", False)
    create(as_user, owner, namespace, url="https://ci.example.org/hook", username="", password="", headers="")
    webhook = Webhook.objects.get()
    failed = queue.ping_queue(webhook=webhook, by=owner)
    Delivery.objects.filter(pk=failed.pk).update(status="failed", attempts=8, error="answered 502",
                                                 finished_at=failed.created_at)
    queue.ping_queue(webhook=webhook, by=owner)  # waiting, never tried: not a failure
    html = as_user(admin).get("/admin").content.decode()
    assert "Outbound webhooks" in html and "2 deliveries waiting" not in html
    assert "1 delivery waiting (0 after a failed attempt), 1 given up in the last day" in html
    assert "answered 502" in html
    assert f"/namespaces/{namespace.pk}/webhooks/{webhook.pk}/deliveries/{failed.pk}" in html


def test_the_status_section_costs_the_same_for_many_failures(owner, namespace):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hooks.services import WebhookInput, webhook_create
    from hooks.status import webhook_status

    def fail_one() -> None:
        webhook, _ = webhook_create(namespace=namespace, data=WebhookInput(url="https://ci.example.org/"), by=owner)
        delivery = queue.ping_queue(webhook=webhook)
        Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=1, finished_at=delivery.created_at)

    fail_one()
    with CaptureQueriesContext(connection) as one:
        assert len(webhook_status()["failures"]) == 1
    for _ in range(5):
        fail_one()
    with CaptureQueriesContext(connection) as six:
        statuses = webhook_status()
        assert [d.webhook.namespace.display_name for d in statuses["failures"]] == ["qa"] * 6
    assert len(one) == len(six) == 4
