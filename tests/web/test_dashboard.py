"""The dashboard: who lands where, what activity each actor sees, stars, namespaces, teams, first push."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from activities.models import Activity
from activities.services import activity_record
from namespaces.models import Repository, Star
from namespaces.services import namespace_create


def test_anonymous_visitors_go_to_explore_or_sign_in(client, options, owner):
    assert client.get("/")["Location"] == "/explore"
    options.set("anonymous_browsing.enabled", False)
    assert client.get("/")["Location"] == "/users/sign_in"


def test_activity_of_a_private_namespace_is_seen_by_its_team_only(as_user, namespace, owner, viewer, outsider,
                                                                 admin):
    repository = Repository.objects.create(namespace=namespace, name="secret-app")
    activity_record(key="repository.push", owner=owner, target=repository, namespace=namespace,
                    parameters={"tag": "1.0"})
    for actor, sees in ((owner, True), (viewer, True), (admin, True), (outsider, False)):
        html = as_user(actor).get("/").content.decode()
        assert ("qa/secret-app:1.0" in html) is sees, actor


def test_each_activity_is_listed_once(as_user, namespace, owner):
    """The team's several members must not repeat the team's activities."""
    activities = as_user(owner).get("/").context["activities"].object_list
    assert len(activities) == len({a.pk for a in activities})


def test_activity_is_paged_newest_first(as_user, namespace, owner):
    now = timezone.now()
    for i in range(25):
        activity_record(key="namespace.change_namespace_description", owner=owner, target=namespace,
                        namespace=namespace, at=now + timedelta(minutes=i))
    client = as_user(owner)
    first = client.get("/").context["activities"]
    assert [a.created_at for a in first] == sorted((a.created_at for a in first), reverse=True)
    assert first.older_url and not first.newer_url
    second = client.get("/" + first.older_url).context["activities"]
    assert second.object_list[0].created_at < first.object_list[-1].created_at
    back = client.get("/" + second.newer_url).context["activities"]
    assert [a.pk for a in back] == [a.pk for a in first]


def test_activity_text_is_escaped(as_user, owner, namespace):
    activity_record(key="team.add_member", owner=owner, target=namespace.team, team=namespace.team,
                    parameters={"user": "<img src=x onerror=alert(1)>", "role": "viewer"})
    html = as_user(owner).get("/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_starred_namespaces_and_teams(as_user, namespace, owner, outsider, registry):
    repository = Repository.objects.create(namespace=namespace, name="app")
    Star.objects.create(user=owner, repository=repository)
    Star.objects.create(user=outsider, repository=repository)  # a star on what one can no longer see
    context = as_user(owner).get("/").context
    assert [r.full_name for r in context["starred"]] == ["qa/app"]
    assert sorted(n.name for n in context["namespaces"]) == ["olivia", "qa"]
    assert [t.name for t in context["teams"]] == ["qa"]
    context = as_user(outsider).get("/").context
    assert list(context["starred"]) == [] and [n.name for n in context["namespaces"]] == ["oscar"]
    assert list(context["teams"]) == []


def test_the_first_push_panel_gives_this_instances_commands(as_user, owner, registry):
    html = as_user(owner).get("/").content.decode()
    assert "Push your first image" in html
    for line in ("docker login registry.test.lan:5000",
                 "docker tag busybox:latest registry.test.lan:5000/olivia/busybox:latest",
                 "docker push registry.test.lan:5000/olivia/busybox:latest"):
        assert f'data-copy="{line}"' in html


def test_the_first_push_panel_uses_the_external_host(as_user, owner, registry):
    registry.external_hostname = "images.example.org"
    registry.save()
    html = as_user(owner).get("/").content.decode()
    assert 'data-copy="docker push images.example.org/olivia/busybox:latest"' in html


def test_no_push_commands_where_the_policy_forbids_pushing(as_user, owner, registry, options):
    options.set("user_permission.push_images.policy", "admin-only")
    html = as_user(owner).get("/").content.decode()
    assert "docker push" not in html and "You cannot push" in html


def test_without_a_registry_admins_are_asked_to_add_one(as_user, db):
    from tests.conftest import _user

    admin = _user("root", admin=True)
    person = _user("pat")
    assert 'href="/admin/registries/new"' in as_user(admin).get("/").content.decode()
    html = as_user(person).get("/").content.decode()
    assert "No registry yet" in html and 'href="/admin/registries/new"' not in html


def test_get_changes_nothing(as_user, owner):
    before = Activity.objects.count()
    as_user(owner).get("/", {"delete": "1"})
    assert Activity.objects.count() == before


@pytest.mark.parametrize("actor", ["owner", "admin"])
def test_the_dashboard_runs_a_fixed_number_of_queries(as_user, request, actor, team, registry, owner,
                                                      django_assert_max_num_queries):
    user = request.getfixturevalue(actor)
    client = as_user(user)

    def grow(n):
        for _ in range(n):
            namespace = namespace_create(name=f"ns{grow.count}", team=team, by=owner, registry=registry)
            repository = Repository.objects.create(namespace=namespace, name="app")
            Star.objects.create(user=user, repository=repository)
            activity_record(key="repository.push", owner=owner, target=repository, namespace=namespace,
                            team=team, parameters={"tag": "1"})
            grow.count += 1

    grow.count = 0
    grow(2)
    client.get("/")
    with django_assert_max_num_queries(20) as small:
        client.get("/")
    grow(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/")
    assert len(response.context["activities"]) == 10 and len(response.context["starred"].object_list) == 10
