"""The retention pages: owners and admins only (through the policy), forms saved, reports shown."""

from __future__ import annotations

import pytest
from django.test import Client

from retention import runs
from retention.models import Rule

pytestmark = pytest.mark.django_db


def client_of(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user, backend="accounts.backends.PortusBackend")
    return client


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("owner", 200), ("viewer", 403), ("outsider", 404)])
def test_the_namespace_rule_page(request, namespace, who, status):
    response = client_of(request.getfixturevalue(who)).get(f"/retention/namespaces/{namespace.pk}")
    assert response.status_code == status


def test_an_owner_saves_a_rule_with_globs(namespace, owner):
    response = client_of(owner).post(f"/retention/namespaces/{namespace.pk}", {
        "enabled": "on", "older_than_days": "30", "keep_latest": "2", "include": "", "protect": "latest, release-*"})
    assert response.status_code == 302
    rule = Rule.objects.get(namespace=namespace)
    assert (rule.older_than_days, rule.keep_latest, rule.protect) == (30, 2, ["latest", "release-*"])


def test_a_bad_pattern_is_shown_on_the_form(namespace, owner):
    response = client_of(owner).post(f"/retention/namespaces/{namespace.pk}", {
        "enabled": "on", "older_than_days": "30", "protect": "(a*)*b"})
    assert response.status_code == 200 and "use letters, digits" in response.content.decode()
    assert not Rule.objects.filter(namespace=namespace).exists()


def test_forms_need_csrf(namespace, owner):
    client = client_of(owner, enforce_csrf_checks=True)
    assert client.post("/retention/runs", {"namespace": namespace.pk}).status_code == 403


def test_a_run_page_and_the_status_page(namespace, owner, admin):
    run = runs.run_create(dry_run=True, namespace=namespace, by=owner)
    response = client_of(owner).get(f"/retention/runs/{run.pk}")
    assert response.status_code == 200 and "Not planned yet" in response.content.decode()
    assert client_of(admin).get("/admin").content.decode().count(f'href="/retention/runs/{run.pk}"') == 1


def test_an_owner_queues_a_dry_run(namespace, owner, outsider):
    assert client_of(outsider).post("/retention/runs", {"namespace": namespace.pk}).status_code == 404
    response = client_of(owner).post("/retention/runs", {"namespace": namespace.pk, "dry_run": "true"})
    assert response.status_code == 302 and response["Location"].startswith("/retention/runs/")
    assert client_of(owner).post("/retention/runs", {"namespace": "x" * 40}).status_code == 404
