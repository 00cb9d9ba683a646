"""Activity pages of a namespace and of a user: human event names, the event filter from a list, the one
policy deciding who sees what, hostile filters, and a fixed number of queries per page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.models import Activity
from activities.services import activity_record
from namespaces.models import Visibility
from web.templatetags.portus_activity import ACTIVITY_NAMES, ACTIVITY_TEXTS, activity_choices, activity_name

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(admin, owner, contributor, outsider, namespace):
    """In the private namespace qa: carl pushed, olivia deleted a tag; elsewhere oscar pushed to his own
    namespace, and admin disabled oscar."""
    from namespaces.services import namespace_create
    from teams.services import team_create

    oscars = namespace_create(name="oscar-stuff", team=team_create(name="oscars", owner=outsider), by=outsider,
                              registry=namespace.registry)
    Activity.objects.all().delete()  # the fixtures' own activities
    activity_record(key="repository.push", owner=contributor, target_type="repository", target_name="qa/app",
                    namespace=namespace, parameters={"tag": "1.0"}, at=BASE)
    activity_record(key="tag.delete", owner=owner, target_type="tag", target_name="qa/app:0.9",
                    namespace=namespace, at=BASE + timedelta(hours=1))
    activity_record(key="repository.push", owner=outsider, target_type="repository", target_name="oscar-stuff/tool",
                    namespace=oscars, parameters={"tag": "2"}, at=BASE + timedelta(days=1))
    activity_record(key="user.disabled", owner=admin, target=outsider, at=BASE + timedelta(days=2))
    return {"oscars": oscars}


def shown(response) -> list[tuple[str, str]]:
    return [(a.key, a.owner.username) for a in response.context["page"]]


# --- names and the filter's list ------------------------------------------------------------------------


def test_every_event_has_a_human_name():
    assert set(ACTIVITY_TEXTS) - set(ACTIVITY_NAMES) == set()
    assert activity_name("user.disabled") == "Account disabled"
    assert activity_name("repository.push") == "Image pushed"
    assert activity_name("something.new") == "something.new"
    listed = {key for _, items in activity_choices()[1:] for key, _ in items}
    assert listed == set(ACTIVITY_NAMES)


def test_the_event_filter_is_a_list_of_named_events(as_user, admin, namespace, history):
    html = as_user(admin).get(f"/namespaces/{namespace.pk}/activities").content.decode()
    select = html[html.index('<select name="key"'):html.index("</select>")]
    assert '<option value="" selected>Any event</option>' in select
    assert '<option value="user.disabled">Account disabled</option>' in select
    assert '<optgroup label="Accounts">' in select
    assert 'list="activity-keys"' not in html


def test_the_admin_log_names_events_and_filters_from_the_list(as_user, admin, history):
    response = as_user(admin).get("/admin/activities", {"key": "user.disabled"})
    html = response.content.decode()
    assert shown(response) == [("user.disabled", "admin")]
    assert '<span title="user.disabled">Account disabled</span>' in html
    assert '<option value="user.disabled" selected>Account disabled</option>' in html


# --- the namespace's page -------------------------------------------------------------------------------


def test_a_member_sees_the_namespaces_activity_by_day(as_user, viewer, namespace, history):
    response = as_user(viewer).get(f"/namespaces/{namespace.pk}/activities")
    assert response.status_code == 200
    assert shown(response) == [("tag.delete", "olivia"), ("repository.push", "carl")]
    html = response.content.decode()
    assert '<time datetime="2026-03-01">Sun 1 Mar 2026</time>' in html
    assert "Tag deleted" in html and "Image pushed" in html
    assert f'href="/namespaces/{namespace.pk}/activities"' in as_user(viewer).get(
        f"/namespaces/{namespace.pk}").content.decode()


def test_the_namespace_page_filters_by_event_user_and_day(as_user, viewer, namespace, history):
    client = as_user(viewer)
    url = f"/namespaces/{namespace.pk}/activities"
    assert shown(client.get(url, {"key": "repository.push"})) == [("repository.push", "carl")]
    assert shown(client.get(url, {"user": "olivia"})) == [("tag.delete", "olivia")]
    assert shown(client.get(url, {"since": "2026-03-02"})) == []


def test_an_outsider_gets_404_for_a_private_namespaces_activity(as_user, outsider, namespace, history):
    assert as_user(outsider).get(f"/namespaces/{namespace.pk}/activities").status_code == 404
    assert as_user(outsider).get("/namespaces/999999/activities").status_code == 404


def test_an_outsider_sees_a_protected_namespaces_activity(as_user, outsider, namespace, history):
    namespace.visibility = Visibility.PROTECTED
    namespace.save(update_fields=["visibility"])
    response = as_user(outsider).get(f"/namespaces/{namespace.pk}/activities")
    assert response.status_code == 200 and len(shown(response)) == 2


def test_anonymous_visitors_go_to_sign_in(client, namespace, history):
    response = client.get(f"/namespaces/{namespace.pk}/activities")
    assert response.status_code == 302 and "/users/sign_in" in response["Location"]


def test_anonymous_visitors_see_a_public_namespaces_activity_while_browsing_is_on(client, options, namespace,
                                                                                 owner, history):
    namespace.visibility = Visibility.PUBLIC
    namespace.save(update_fields=["visibility"])
    response = client.get(f"/namespaces/{namespace.pk}/activities")
    assert response.status_code == 200 and [key for key, _ in shown(response)] == ["tag.delete", "repository.push"]
    options.set("anonymous_browsing.enabled", False)
    assert client.get(f"/namespaces/{namespace.pk}/activities").status_code == 302
    assert client.get(f"/users/{owner.pk}/activities").status_code == 302  # a user's page: signed in only


# --- a user's page --------------------------------------------------------------------------------------


def test_ones_own_activity(as_user, outsider, history):
    response = as_user(outsider).get(f"/users/{outsider.pk}/activities")
    assert response.status_code == 200 and shown(response) == [("repository.push", "oscar")]
    assert "Your activity" in response.content.decode()
    assert f'href="/users/{outsider.pk}/activities"' in as_user(outsider).get("/users/edit").content.decode()


def test_a_team_mate_sees_only_what_they_may_see(as_user, viewer, contributor, admin, history):
    response = as_user(viewer).get(f"/users/{contributor.pk}/activities")
    assert response.status_code == 200 and shown(response) == [("repository.push", "carl")]
    # The admin's account events are not the viewer's to see, and the two share no team.
    assert as_user(viewer).get(f"/users/{admin.pk}/activities").status_code == 404


def test_strangers_and_missing_users_are_404(as_user, outsider, contributor, internal_account, viewer):
    assert as_user(outsider).get(f"/users/{contributor.pk}/activities").status_code == 404
    assert as_user(viewer).get("/users/999999/activities").status_code == 404
    assert as_user(viewer).get(f"/users/{internal_account.pk}/activities").status_code == 404


def test_an_admin_sees_everything_a_user_did(as_user, admin, outsider, history):
    assert shown(as_user(admin).get(f"/users/{outsider.pk}/activities")) == [("repository.push", "oscar")]
    assert shown(as_user(admin).get(f"/users/{admin.pk}/activities")) == [("user.disabled", "admin")]
    assert f'href="/users/{outsider.pk}/activities"' in as_user(admin).get(
        f"/admin/users/{outsider.pk}").content.decode()


@pytest.mark.parametrize("viewer_name, subject_name, allowed", [
    ("admin", "oscar", True), ("oscar", "oscar", True), ("vera", "carl", True), ("carl", "olivia", True),
    ("oscar", "carl", False), ("vera", "admin", False), ("vera", "portus", False), ("admin", "portus", True),
    ("disabled-vera", "carl", False), ("anonymous", "carl", False),
])
def test_who_may_open_a_users_activity(request, team, admin, outsider, internal_account, viewer_name, subject_name,
                                       allowed):
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User
    from namespaces import policy

    if viewer_name == "anonymous":
        viewer = AnonymousUser()
    elif viewer_name == "disabled-vera":
        viewer = User.objects.get(username="vera")
        viewer.enabled = False
    else:
        viewer = User.objects.get(username=viewer_name)
    assert policy.can_see_user(viewer, User.objects.get(username=subject_name)) is allowed


def test_team_members_link_to_their_activity(as_user, viewer, team, contributor):
    html = as_user(viewer).get(f"/teams/{team.pk}").content.decode()
    assert f'href="/users/{contributor.pk}/activities"' in html


# --- hostile filters ------------------------------------------------------------------------------------

HOSTILE = [
    {"key": "<script>alert(1)</script>"}, {"key": "x" * 100_000}, {"key": "user.disabled\x00"},
    {"key": ["repository.push", "tag.delete"]}, {"since": "9999-12-31"}, {"until": "9999-12-31"},
    {"since": "0001-01-01"}, {"since": "2026-02-30"}, {"until": "-1"}, {"before": "!!!"}, {"after": "a" * 5000},
    {"before": "MjAyNi0wMy0wMVQxMjowMDowMCswMDowMHwx"}, {"user": "a" * 1000}, {"user": "\x00"},
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_filters_are_refused_or_ignored(as_user, admin, viewer, namespace, history, query):
    for client, url in ((as_user(viewer), f"/namespaces/{namespace.pk}/activities"),
                        (as_user(viewer), f"/users/{viewer.pk}/activities"),
                        (as_user(admin), "/admin/activities")):
        response = client.get(url, query)
        assert response.status_code in (200, 400), (url, query, response.status_code)
        assert "<script>alert(1)" not in response.content.decode()
        if response.status_code == 400:
            assert response.context["form"].errors and 'role="alert"' in response.content.decode()


def test_a_day_past_the_calendar_is_a_clear_400(as_user, admin):
    response = as_user(admin).get("/admin/activities", {"until": "9999-12-31"})
    assert response.status_code == 400
    assert "Give a day between 1900 and 9998." in response.content.decode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(max_size=80), since=st.text(max_size=12))
def test_any_text_in_the_filter_is_never_a_server_error(as_user, viewer, namespace, key, since):
    response = as_user(viewer).get(f"/namespaces/{namespace.pk}/activities", {"key": key, "since": since})
    assert response.status_code in (200, 400)


# --- query counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["namespace", "user"])
def test_the_pages_run_a_fixed_number_of_queries(as_user, viewer, contributor, namespace, options, page,
                                                 django_assert_num_queries):
    url = {"namespace": f"/namespaces/{namespace.pk}/activities",
           "user": f"/users/{contributor.pk}/activities"}[page]
    client = as_user(viewer)
    options.set("pagination.per_page", 20)

    def add(n: int) -> None:
        Activity.objects.bulk_create([
            Activity(key=("repository.push", "tag.delete", "team.add_member")[i % 3], owner=contributor,
                     target_type="repository", target_name=f"qa/app{i}", namespace=namespace,
                     team=namespace.team, created_at=BASE + timedelta(minutes=i)) for i in range(n)])

    add(2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"key": "repository.push"})
    add(60)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url, {"key": "repository.push"})
    assert len(response.context["page"]) == 20
    with django_assert_num_queries(len(few.captured_queries)):
        older = client.get(url + response.context["page"].older_url)
    assert older.status_code == 200 and len(older.context["page"]) == 1


def test_the_dashboard_shows_a_timeline(as_user, contributor, namespace, history):
    html = as_user(contributor).get("/").content.decode()
    assert '<ol class="portus-timeline' in html
    assert re.search(r'<li class="portus-timeline-item" data-key="repository.push">', html)
    assert f'href="/users/{contributor.pk}/activities">Only yours</a>' in html
