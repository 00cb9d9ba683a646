"""Namespace pages: list, show, create, edit, visibility, delete; who may do what, and what a POST changes."""

from __future__ import annotations

import re

import pytest

from namespaces.models import Namespace

pytestmark = pytest.mark.django_db


# --- the list -------------------------------------------------------------------------------------


def test_list_shows_personal_team_and_other_namespaces(client_of, viewer, namespace, namespace_of_visibility,
                                                        outsider):
    from namespaces.services import namespace_create
    from teams.services import team_create

    elsewhere = team_create(name="elsewhere", owner=outsider)
    namespace_create(name="theirs-public", team=elsewhere, by=outsider, visibility="public")
    namespace_create(name="theirs-private", team=elsewhere, by=outsider)

    page = client_of(viewer).get("/namespaces")

    assert page.status_code == 200
    html = page.content.decode()
    assert ">vera<" in html  # personal namespace
    assert ">qa<" in html  # her team's, private
    assert "theirs-public" in html
    assert "theirs-private" not in html


def test_outsider_does_not_see_private_team_namespace_in_list(client_of, outsider, namespace):
    html = client_of(outsider).get("/namespaces").content.decode()
    assert f'href="/namespaces/{namespace.pk}"' not in html


def test_list_requires_sign_in(client_of):
    response = client_of(None).get("/namespaces")
    assert response.status_code == 302
    assert response["Location"].startswith("/users/sign_in")


def test_list_paginates_each_section_separately(client_of, owner, team, registry, options):
    from namespaces.services import namespace_create

    options.set("pagination.per_page", 2)
    for i in range(5):
        namespace_create(name=f"ns{i}", team=team, by=owner, registry=registry)

    html = client_of(owner).get("/namespaces?page=3").content.decode()

    assert "ns4" in html and "ns0" not in html


def test_with_several_registries_each_namespace_names_its_own(client_of, owner, team, namespace):
    from namespaces.services import namespace_create
    from registries.services import registry_create

    assert ">Registry<" not in client_of(owner).get("/namespaces").content.decode()  # one registry: no column
    second = registry_create(name="second", hostname="second.test.lan:5000", use_ssl=True, by=None, check=False)
    twin = namespace_create(name="qa", team=team, by=owner, registry=second)

    html = client_of(owner).get("/namespaces").content.decode()
    assert ">Registry<" in html
    assert 'title="registry.test.lan:5000">main<' in html and 'title="second.test.lan:5000">second<' in html
    assert "registry second (second.test.lan:5000)" in client_of(owner).get(f"/namespaces/{twin.pk}").content.decode()
    assert "registry main (registry.test.lan:5000)" in client_of(owner).get(
        f"/namespaces/{namespace.pk}").content.decode()


# --- one namespace --------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["admin", "owner", "contributor", "viewer"])
def test_members_and_admins_see_private_namespace(client_of, request, actor, namespace):
    response = client_of(request.getfixturevalue(actor)).get(f"/namespaces/{namespace.pk}")
    assert response.status_code == 200
    assert "qa" in response.content.decode()


def test_outsider_gets_404_for_private_namespace(client_of, outsider, namespace):
    assert client_of(outsider).get(f"/namespaces/{namespace.pk}").status_code == 404


def test_outsider_sees_protected_namespace(client_of, outsider, namespace_of_visibility):
    protected = namespace_of_visibility("protected")
    assert client_of(outsider).get(f"/namespaces/{protected.pk}").status_code == 200


def test_anonymous_sees_public_namespace(client_of, namespace_of_visibility):
    public = namespace_of_visibility("public")
    response = client_of(None).get(f"/namespaces/{public.pk}")
    assert response.status_code == 200
    assert "public-app" in response.content.decode()


def test_anonymous_is_sent_to_sign_in_for_private_namespace(client_of, namespace):
    response = client_of(None).get(f"/namespaces/{namespace.pk}")
    assert response.status_code == 302
    assert response["Location"].startswith("/users/sign_in")


def test_anonymous_is_sent_to_sign_in_when_anonymous_browsing_is_off(client_of, options, namespace_of_visibility):
    public = namespace_of_visibility("public")
    options.set("anonymous_browsing.enabled", False)
    response = client_of(None).get(f"/namespaces/{public.pk}")
    assert response.status_code == 302


def test_unknown_namespace_is_404(client_of, admin):
    assert client_of(admin).get("/namespaces/999999").status_code == 404


def test_show_lists_repositories_with_tag_counts(client_of, owner, repository):
    html = client_of(owner).get(f"/namespaces/{repository.namespace_id}").content.decode()
    assert f'href="/repositories/{repository.pk}"' in html
    assert ">4<" in html  # tags_count of qa/app


def test_visibility_switch_shown_to_owner_not_to_contributor(client_of, owner, contributor, namespace):
    url = f"/namespaces/{namespace.pk}"
    assert "change_visibility" in client_of(owner).get(url).content.decode()
    assert "change_visibility" not in client_of(contributor).get(url).content.decode()


def test_description_is_rendered_as_markdown(client_of, owner, namespace):
    namespace.description = "Read **this**."
    namespace.save()
    html = client_of(owner).get(f"/namespaces/{namespace.pk}").content.decode()
    assert "<strong>this</strong>" in html


# --- create ---------------------------------------------------------------------------------------


def test_contributor_creates_namespace_in_team(client_of, contributor, team):
    response = client_of(contributor).post("/namespaces/new", {"name": "tools", "team": team.pk,
                                                               "description": "Build tools."})
    created = Namespace.objects.get(name="tools")
    assert response.status_code == 302
    assert response["Location"] == f"/namespaces/{created.pk}"
    assert created.team == team and created.visibility == "private"


def test_get_of_create_page_changes_nothing(client_of, owner, team):
    before = Namespace.objects.count()
    assert client_of(owner).get("/namespaces/new?name=x&team=1").status_code == 200
    assert Namespace.objects.count() == before


def test_viewer_may_not_create_namespaces(client_of, viewer, team):
    assert client_of(viewer).get("/namespaces/new").status_code == 403
    assert client_of(viewer).post("/namespaces/new", {"name": "nope", "team": team.pk}).status_code == 403
    assert not Namespace.objects.filter(name="nope").exists()


def test_owner_cannot_create_namespace_in_a_team_of_others(client_of, owner, team, outsider):
    from teams.services import team_create

    foreign = team_create(name="foreign", owner=outsider)
    response = client_of(owner).post("/namespaces/new", {"name": "sneaky", "team": foreign.pk})
    assert response.status_code == 200  # the form refuses the choice
    assert not Namespace.objects.filter(name="sneaky").exists()


def test_invalid_or_taken_name_is_refused_on_the_form(client_of, owner, team, namespace):
    client = client_of(owner)
    assert "Use lowercase" in client.post("/namespaces/new", {"name": "Bad Name", "team": team.pk}).content.decode()
    assert "already taken" in client.post("/namespaces/new", {"name": "qa", "team": team.pk}).content.decode()


def test_create_disabled_by_option_for_non_admins(client_of, owner, admin, team, options):
    options.set("user_permission.create_namespace.enabled", False)
    assert client_of(owner).get("/namespaces/new").status_code == 403
    assert client_of(admin).get("/namespaces/new").status_code == 200


# --- edit -----------------------------------------------------------------------------------------


def test_owner_edits_description(client_of, owner, namespace):
    response = client_of(owner).post(f"/namespaces/{namespace.pk}/edit",
                                     {"name": "qa", "team": namespace.team_id, "description": "New words."})
    assert response.status_code == 302
    namespace.refresh_from_db()
    assert namespace.description == "New words."


def test_owner_moves_namespace_to_another_team_they_own(client_of, owner, namespace):
    from teams.services import team_create

    other = team_create(name="other", owner=owner)
    client_of(owner).post(f"/namespaces/{namespace.pk}/edit", {"name": "qa", "team": other.pk, "description": ""})
    namespace.refresh_from_db()
    assert namespace.team == other


def test_namespace_with_repositories_cannot_be_renamed(client_of, owner, repository):
    page = client_of(owner).get(f"/namespaces/{repository.namespace_id}/edit").content.decode()
    assert re.search(r'<input[^>]*name="name"[^>]*disabled', page)
    assert "holds repositories cannot be renamed" in page

    client_of(owner).post(f"/namespaces/{repository.namespace_id}/edit",
                          {"name": "renamed", "team": repository.namespace.team_id, "description": "d"})
    namespace = Namespace.objects.get(pk=repository.namespace_id)
    assert (namespace.name, namespace.description) == ("qa", "d")


def test_empty_namespace_is_renamed(client_of, owner, namespace, fake_registry):
    response = client_of(owner).post(f"/namespaces/{namespace.pk}/edit",
                                     {"name": "qa-renamed", "team": namespace.team_id, "description": ""})
    assert response.status_code == 302
    namespace.refresh_from_db()
    assert namespace.name == "qa-renamed"


def test_images_the_registry_holds_under_the_name_keep_it(client_of, owner, namespace, fake_registry):
    """Pushed but not yet reported here: renaming would leave them behind under the old name."""
    fake_registry.push("qa/early", "1.0", "sha256:" + "e" * 64)
    response = client_of(owner).post(f"/namespaces/{namespace.pk}/edit",
                                     {"name": "qa-renamed", "team": namespace.team_id, "description": ""})
    assert response.status_code == 200
    assert "The registry holds images under this name" in response.content.decode()
    namespace.refresh_from_db()
    assert namespace.name == "qa"


def test_a_registry_that_cannot_be_asked_keeps_the_name(client_of, owner, namespace, fake_registry):
    fake_registry.down = True
    client_of(owner).post(f"/namespaces/{namespace.pk}/edit",
                          {"name": "qa-renamed", "team": namespace.team_id, "description": ""})
    namespace.refresh_from_db()
    assert namespace.name == "qa"


def test_namespace_with_robots_cannot_be_renamed(client_of, owner, namespace):
    from accounts.robots import robot_create

    robot_create(name="deployer", namespace=namespace, by=owner)
    page = client_of(owner).get(f"/namespaces/{namespace.pk}/edit").content.decode()
    assert "with robots cannot be renamed" in page
    client_of(owner).post(f"/namespaces/{namespace.pk}/edit",
                          {"name": "other", "team": namespace.team_id, "description": ""})
    namespace.refresh_from_db()
    assert namespace.name == "qa"


def test_personal_namespace_says_it_stays_with_its_user(client_of, owner, registry):
    personal = Namespace.objects.get(registry=registry, name="olivia")
    page = client_of(owner).get(f"/namespaces/{personal.pk}/edit").content.decode()
    assert 'name="team"' not in page
    assert "stays with its user" in page
    assert re.search(r'<input[^>]*name="name"[^>]*disabled', page)


def test_owner_may_not_move_to_a_team_where_they_only_view(client_of, owner, viewer, namespace):
    from teams.services import team_create, team_member_add

    other = team_create(name="other", owner=viewer)
    team_member_add(team=other, user=owner, role="viewer", by=viewer)
    page = client_of(owner).get(f"/namespaces/{namespace.pk}/edit").content.decode()
    assert f'value="{other.pk}"' not in page
    response = client_of(owner).post(f"/namespaces/{namespace.pk}/edit",
                                     {"name": "qa", "team": other.pk, "description": ""})
    assert response.status_code == 200  # the choice is refused by the form
    namespace.refresh_from_db()
    assert namespace.team_id != other.pk


# --- a namespace an admin's push created ------------------------------------------------------------


@pytest.fixture
def pushed(admin, registry):
    from namespaces.services import namespace_for_push

    return namespace_for_push(registry=registry, name="pushed-here", user=admin)


def test_push_created_namespace_is_not_called_personal(client_of, admin, pushed):
    page = client_of(admin).get(f"/namespaces/{pushed.pk}").content.decode()
    assert "Personal namespace" not in page
    assert "not in a team yet" in page
    listing = client_of(admin).get("/namespaces").content.decode()
    assert "Created by your pushes, not in a team yet" in listing
    personal_section = listing.split('id="personal-heading"')[1].split("</section>")[0]
    assert "pushed-here" not in personal_section and ">admin<" in personal_section


def test_admin_moves_a_push_created_namespace_to_a_team(client_of, admin, pushed, team):
    page = client_of(admin).get(f"/namespaces/{pushed.pk}/edit").content.decode()
    assert "Not in a team yet" in page
    response = client_of(admin).post(f"/namespaces/{pushed.pk}/edit",
                                     {"name": "pushed-here", "team": team.pk, "description": ""})
    assert response.status_code == 302
    pushed.refresh_from_db()
    assert pushed.team_id == team.pk
    from activities.models import Activity

    assert Activity.objects.filter(key="namespace.change_team", target_id=pushed.pk).exists()


def test_admin_renames_an_empty_push_created_namespace_and_keeps_it_teamless(client_of, admin, pushed,
                                                                             fake_registry):
    response = client_of(admin).post(f"/namespaces/{pushed.pk}/edit",
                                     {"name": "better-name", "team": "", "description": ""})
    assert response.status_code == 302
    pushed.refresh_from_db()
    assert pushed.name == "better-name" and pushed.awaits_team


def test_a_namespace_found_in_the_registry_is_handed_to_a_team(client_of, admin, registry, team):
    from namespaces.tags import namespace_for_image

    found = namespace_for_image(registry=registry, namespace_name="unclaimed", actor=None)
    assert found.team.hidden and found.awaits_team
    client = client_of(admin)
    assert "Found in the registry; not in a team yet" in client.get(f"/namespaces/{found.pk}").content.decode()
    assert client.post(f"/namespaces/{found.pk}/edit",
                       {"name": "unclaimed", "team": "", "description": "kept"}).status_code == 302
    client.post(f"/namespaces/{found.pk}/edit", {"name": "unclaimed", "team": team.pk, "description": "kept"})
    found.refresh_from_db()
    assert (found.team_id, found.description) == (team.pk, "kept")


def test_push_created_namespace_may_be_deleted(client_of, admin, pushed, fake_registry):
    assert client_of(admin).get(f"/namespaces/{pushed.pk}/delete").status_code == 200


@pytest.mark.parametrize("actor", ["contributor", "viewer"])
def test_too_low_role_may_not_edit(client_of, request, actor, namespace):
    client = client_of(request.getfixturevalue(actor))
    assert client.get(f"/namespaces/{namespace.pk}/edit").status_code == 403
    assert client.post(f"/namespaces/{namespace.pk}/edit", {"description": "x"}).status_code == 403
    namespace.refresh_from_db()
    assert namespace.description == ""


def test_outsider_gets_404_on_edit(client_of, outsider, namespace):
    assert client_of(outsider).post(f"/namespaces/{namespace.pk}/edit", {"description": "x"}).status_code == 404


# --- visibility -----------------------------------------------------------------------------------


def test_owner_changes_visibility(client_of, owner, namespace):
    response = client_of(owner).post(f"/namespaces/{namespace.pk}/change_visibility", {"visibility": "public"})
    assert response.status_code == 302
    namespace.refresh_from_db()
    assert namespace.visibility == "public"


def test_visibility_change_needs_post(client_of, owner, namespace):
    assert client_of(owner).get(f"/namespaces/{namespace.pk}/change_visibility?visibility=public").status_code == 405
    namespace.refresh_from_db()
    assert namespace.visibility == "private"


def test_contributor_may_not_change_visibility(client_of, contributor, namespace):
    response = client_of(contributor).post(f"/namespaces/{namespace.pk}/change_visibility",
                                           {"visibility": "public"})
    assert response.status_code == 403
    namespace.refresh_from_db()
    assert namespace.visibility == "private"


def test_outsider_gets_404_on_visibility(client_of, outsider, namespace):
    response = client_of(outsider).post(f"/namespaces/{namespace.pk}/change_visibility", {"visibility": "public"})
    assert response.status_code == 404


def test_owner_may_not_change_visibility_when_option_is_off(client_of, owner, admin, namespace, options):
    options.set("user_permission.change_visibility.enabled", False)
    url = f"/namespaces/{namespace.pk}/change_visibility"
    assert client_of(owner).post(url, {"visibility": "public"}).status_code == 403
    assert client_of(admin).post(url, {"visibility": "protected"}).status_code == 302
    namespace.refresh_from_db()
    assert namespace.visibility == "protected"


def test_unknown_visibility_changes_nothing(client_of, owner, namespace):
    client_of(owner).post(f"/namespaces/{namespace.pk}/change_visibility", {"visibility": "everyone"})
    namespace.refresh_from_db()
    assert namespace.visibility == "private"


# --- delete ---------------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes(client_of, owner, namespace, fake_registry):
    client = client_of(owner)
    confirm = client.get(f"/namespaces/{namespace.pk}/delete")
    assert confirm.status_code == 200
    assert Namespace.objects.filter(pk=namespace.pk).exists()

    response = client.post(f"/namespaces/{namespace.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/namespaces"
    assert not Namespace.objects.filter(pk=namespace.pk).exists()


def test_viewer_may_not_delete(client_of, viewer, namespace):
    assert client_of(viewer).post(f"/namespaces/{namespace.pk}/delete").status_code == 403
    assert Namespace.objects.filter(pk=namespace.pk).exists()


def test_outsider_gets_404_on_delete(client_of, outsider, namespace):
    assert client_of(outsider).post(f"/namespaces/{namespace.pk}/delete").status_code == 404


def test_personal_namespace_cannot_be_deleted(client_of, owner):
    personal = Namespace.objects.get(name=owner.username)
    assert client_of(owner).post(f"/namespaces/{personal.pk}/delete").status_code == 403
    assert Namespace.objects.filter(pk=personal.pk).exists()
