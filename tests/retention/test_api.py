"""The retention API: who may do what (through the one policy), rules in and out, runs and reports,
hostile input answered with 400, never 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention.models import Rule, Run
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db
BASE = "/api/v1/retention"


@pytest.fixture
def clients(admin, owner, contributor, viewer, outsider):
    return {name: client_for(user) for name, user in
            [("admin", admin), ("owner", owner), ("contributor", contributor), ("viewer", viewer),
             ("outsider", outsider)]}


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("owner", 200), ("contributor", 403),
                                             ("viewer", 403), ("outsider", 404)])
def test_who_may_set_a_namespace_rule(clients, namespace, who, status):
    response = clients[who].put(f"{BASE}/rules/namespaces/{namespace.pk}",
                                {"older_than_days": 30, "protect": ["latest", "release-*"]}, format="json")
    assert response.status_code == status, response.content
    if status == 200:
        body = response.json()
        assert (body["scope"], body["enabled"], body["protect"]) == ("namespace", True, ["latest", "release-*"])


def test_the_instance_rule_is_for_admins(clients, namespace):
    assert clients["owner"].get(f"{BASE}/rules/instance").status_code == 403
    response = clients["admin"].put(f"{BASE}/rules/instance", {"enabled": True, "keep_latest": 3}, format="json")
    assert response.status_code == 200 and response.json()["keep_latest"] == 3
    assert clients["admin"].get(f"{BASE}/rules").json()[0]["scope"] == "instance"


def test_an_enabled_rule_without_any_condition_is_refused(clients, namespace):
    response = clients["owner"].put(f"{BASE}/rules/namespaces/{namespace.pk}", {"older_than_days": None},
                                    format="json")
    assert response.status_code == 400 and "older_than_days" in response.json()["message"]


def test_a_disabled_rule_opts_a_namespace_out(clients, namespace, owner, seed):
    from retention import runs

    seed({"old": ("c", 900)})
    clients["admin"].put(f"{BASE}/rules/instance", {"enabled": True, "older_than_days": 30}, format="json")
    response = clients["owner"].put(f"{BASE}/rules/namespaces/{namespace.pk}", {"enabled": False}, format="json")
    assert response.status_code == 200, response.content
    run = runs.run_work(runs.run_create(dry_run=True, namespace=None, by=owner, holder="t"), holder="t")
    assert (run.total, run.repositories) == (0, 0)


def test_repository_rule_and_its_removal(clients, namespace):
    from namespaces.models import Repository

    repository = Repository.objects.create(namespace=namespace, name="app")
    url = f"{BASE}/rules/repositories/{repository.pk}"
    assert clients["owner"].get(url).status_code == 404
    assert clients["owner"].put(url, {"keep_latest": 5}, format="json").status_code == 200
    assert clients["owner"].get(url).json()["keep_latest"] == 5
    assert clients["viewer"].delete(url).status_code == 403
    assert clients["owner"].delete(url).status_code == 204
    assert not Rule.objects.filter(repository=repository).exists()


def test_runs_are_created_listed_and_steered_by_their_namespace_owners(clients, namespace, options):
    options.set("delete.enabled", True)
    created = clients["owner"].post(f"{BASE}/runs", {"dry_run": True, "namespace_id": namespace.pk}, format="json")
    assert created.status_code == 201, created.content
    run_id = created.json()["id"]
    assert clients["owner"].post(f"{BASE}/runs", {"dry_run": True}, format="json").status_code == 403
    assert clients["viewer"].post(f"{BASE}/runs", {"namespace_id": namespace.pk}, format="json").status_code == 403
    assert [r["id"] for r in clients["owner"].get(f"{BASE}/runs").json()] == [run_id]
    assert clients["viewer"].get(f"{BASE}/runs").json() == []
    assert clients["outsider"].get(f"{BASE}/runs/{run_id}").status_code == 404
    paused = clients["owner"].post(f"{BASE}/runs/{run_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert clients["owner"].post(f"{BASE}/runs/{run_id}/pause").status_code == 422
    assert clients["owner"].post(f"{BASE}/runs/{run_id}/cancel").json()["status"] == "cancelled"
    report = clients["owner"].get(f"{BASE}/runs/{run_id}/report").json()
    assert report["text"].startswith(f"Retention dry run #{run_id} (namespace qa): cancelled")
    assert clients["owner"].get(f"{BASE}/runs/{run_id}/items", {"action": "nope"}).status_code == 400


def test_a_real_run_is_refused_while_deletes_are_off(clients, namespace, options):
    options.set("delete.enabled", False)
    response = clients["admin"].post(f"{BASE}/runs", {"dry_run": False}, format="json")
    assert response.status_code == 422 and "delete.enabled" in response.json()["message"]
    assert not Run.objects.exists()


_hostile = st.one_of(st.text(max_size=300), st.integers(), st.none(), st.lists(st.text(max_size=200), max_size=30),
                     st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(include=_hostile, protect=_hostile, days=_hostile)
def test_hostile_rule_bodies_get_a_400_or_are_stored_bounded(clients, namespace, include, protect, days):
    response = clients["owner"].put(f"{BASE}/rules/namespaces/{namespace.pk}",
                                    {"include": include, "protect": protect, "older_than_days": days},
                                    format="json")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        body = response.json()
        assert len(body["include"]) <= 20 and all(len(p) <= 128 for p in body["include"] + body["protect"])


def _count_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, {"per_page": 100}).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [f"{BASE}/runs", f"{BASE}/rules", f"{BASE}/runs/{{run}}/items"])
def test_lists_run_a_fixed_number_of_queries(clients, namespace, owner, url):
    from namespaces.models import Repository
    from retention import runs
    from retention.rules import rule_save

    def grow(n: int) -> Run:
        run = None
        for _ in range(n):
            repository = Repository.objects.create(namespace=namespace, name=f"app{Repository.objects.count()}")
            rule_save(scope="repository", namespace=namespace, repository=repository, values={"keep_latest": 1},
                      by=owner)
            run = runs.run_create(dry_run=True, namespace=namespace, by=owner)
            from retention.models import Item

            Item.objects.create(run=first, position=Item.objects.filter(run=first).count(), action="keep",
                                status="kept", repository="qa/x", digest="sha256:x", tags=["t"], reason="r")
        return run

    first = runs.run_create(dry_run=True, namespace=namespace, by=owner)
    target = url.format(run=first.pk)
    grow(2)
    few = _count_queries(clients["owner"], target)
    grow(8)
    assert _count_queries(clients["owner"], target) == few
