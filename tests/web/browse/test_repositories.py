"""Repository pages: list, show (tags grouped by digest, pull commands), description, stars, comments."""

from __future__ import annotations

import re

import pytest

from namespaces.models import Comment, Star

from .conftest import DIGEST_A, DIGEST_B, DIGEST_M

pytestmark = pytest.mark.django_db


# --- the list ---------------------------------------------------------------------------------------


def test_list_shows_visible_repositories_only(client_of, outsider, repository, namespace_of_visibility):
    namespace_of_visibility("protected")
    html = client_of(outsider).get("/repositories").content.decode()
    assert "qa-protected/protected-app" in html
    assert "qa/app" not in html


def test_member_sees_private_repository_with_counts(client_of, viewer, repository):
    html = client_of(viewer).get("/repositories").content.decode()
    assert f'<a href="/repositories/{repository.pk}">qa/app</a>' in html


def test_list_requires_sign_in(client_of, repository):
    assert client_of(None).get("/repositories").status_code == 302


# --- one repository ---------------------------------------------------------------------------------


def test_tags_are_grouped_by_digest_with_their_details(client_of, viewer, repository):
    response = client_of(viewer).get(f"/repositories/{repository.pk}")
    assert response.status_code == 200
    groups = response.context["tags_page"].groups
    by_digest = {group.digest: [tag.name for tag in group.tags] for group in groups}
    assert by_digest == {DIGEST_A: ["1.0", "latest"], DIGEST_B: ["0.9"], DIGEST_M: ["multi"]}
    html = response.content.decode()
    assert "linux/arm64/v8" in html and "linux/amd64" in html
    assert "2.0 KiB" in html  # size of DIGEST_A
    assert "7 pulls" in html
    assert "by carl" in html


def test_each_tag_has_a_pull_command_with_a_copy_button(client_of, viewer, repository):
    html = client_of(viewer).get(f"/repositories/{repository.pk}").content.decode()
    command = "docker pull registry.test.lan:5000/qa/app:latest"
    assert f'data-copy="{command}"' in html
    assert f"<code class=\"portus-command-text\">{command}</code>" in html


def test_newest_digest_comes_first(client_of, viewer, repository):
    groups = client_of(viewer).get(f"/repositories/{repository.pk}").context["tags_page"].groups
    assert groups[-1].digest == DIGEST_B  # pushed three days ago


def test_digests_paginate(client_of, viewer, repository, options):
    options.set("pagination.per_page", 2)
    client = client_of(viewer)
    first = client.get(f"/repositories/{repository.pk}").context["tags_page"]
    second = client.get(f"/repositories/{repository.pk}?page=2").context["tags_page"]
    assert first.paginator.count == 3  # digests, not tags
    assert len(first.groups) == 2 and [g.digest for g in second.groups] == [DIGEST_B]


def test_outsider_gets_404_for_private_repository(client_of, outsider, repository):
    assert client_of(outsider).get(f"/repositories/{repository.pk}").status_code == 404


def test_anonymous_sees_public_repository_without_star_or_comment_forms(client_of, namespace_of_visibility):
    repository = namespace_of_visibility("public").repositories.get()
    response = client_of(None).get(f"/repositories/{repository.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "toggle_star" not in html and 'name="body"' not in html
    assert "Sign in</a> to star or comment" in html


def test_anonymous_is_sent_to_sign_in_for_private_repository(client_of, repository):
    response = client_of(None).get(f"/repositories/{repository.pk}")
    assert response.status_code == 302 and response["Location"].startswith("/users/sign_in")


def test_delete_buttons_only_where_policy_allows(client_of, owner, contributor, repository, options):
    url = f"/repositories/{repository.pk}"
    # delete.enabled is off: no tag's delete link (the tag names still link to their pages)
    assert not re.search(r"/tags/\d+/delete", client_of(owner).get(url).content.decode())
    options.set("delete.enabled", True)
    assert "/delete" in client_of(owner).get(url).content.decode()
    html = client_of(contributor).get(url).content.decode()
    assert not re.search(r"/tags/\d+/delete", html) and f"/repositories/{repository.pk}/delete" not in html


def test_where_deleting_is_off_those_who_push_are_told_why_there_is_no_delete_button(client_of, owner, viewer,
                                                                                      repository, options):
    note = "Deleting is turned off on this instance (delete.enabled)"
    url = f"/repositories/{repository.pk}"
    assert note in client_of(owner).get(url).content.decode()
    assert note not in client_of(viewer).get(url).content.decode()  # nothing they could delete anyway
    options.set("delete.enabled", True)
    assert note not in client_of(owner).get(url).content.decode()


# --- description ------------------------------------------------------------------------------------


def test_contributor_edits_the_description(client_of, contributor, repository):
    response = client_of(contributor).post(f"/repositories/{repository.pk}/edit", {"description": "# App"})
    assert response.status_code == 302
    repository.refresh_from_db()
    assert repository.description == "# App"


def test_viewer_may_not_edit_the_description(client_of, viewer, repository):
    assert client_of(viewer).post(f"/repositories/{repository.pk}/edit", {"description": "x"}).status_code == 403
    repository.refresh_from_db()
    assert repository.description == "The *app* image."


def test_outsider_gets_404_editing(client_of, outsider, repository):
    assert client_of(outsider).get(f"/repositories/{repository.pk}/edit").status_code == 404


# --- stars ------------------------------------------------------------------------------------------


def test_star_toggles_and_counts(client_of, viewer, repository):
    client = client_of(viewer)
    url = f"/repositories/{repository.pk}/toggle_star"
    assert client.post(url).status_code == 302
    repository.refresh_from_db()
    assert repository.stars_count == 1 and Star.objects.filter(user=viewer, repository=repository).exists()
    assert client.get(f"/repositories/{repository.pk}").context["starred"] is True

    client.post(url)
    repository.refresh_from_db()
    assert repository.stars_count == 0 and not Star.objects.exists()


def test_star_needs_post(client_of, viewer, repository):
    assert client_of(viewer).get(f"/repositories/{repository.pk}/toggle_star").status_code == 405
    assert not Star.objects.exists()


def test_outsider_cannot_star_a_private_repository(client_of, outsider, repository):
    assert client_of(outsider).post(f"/repositories/{repository.pk}/toggle_star").status_code == 404
    assert not Star.objects.exists()


def test_anonymous_cannot_star(client_of, namespace_of_visibility):
    repository = namespace_of_visibility("public").repositories.get()
    assert client_of(None).post(f"/repositories/{repository.pk}/toggle_star").status_code == 302
    assert not Star.objects.exists()


# --- comments ---------------------------------------------------------------------------------------


def test_viewer_comments(client_of, viewer, repository):
    response = client_of(viewer).post(f"/repositories/{repository.pk}/comments", {"body": "Nice **image**"})
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"#comment-{comment.pk}")
    assert comment.author == viewer and comment.body == "Nice **image**"
    html = client_of(viewer).get(f"/repositories/{repository.pk}").content.decode()
    assert "<strong>image</strong>" in html


def test_empty_comment_is_refused(client_of, viewer, repository):
    client_of(viewer).post(f"/repositories/{repository.pk}/comments", {"body": "   "})
    assert not Comment.objects.exists()


def test_outsider_cannot_comment_on_private_repository(client_of, outsider, repository):
    assert client_of(outsider).post(f"/repositories/{repository.pk}/comments", {"body": "hi"}).status_code == 404
    assert not Comment.objects.exists()


def test_outsider_comments_on_protected_repository(client_of, outsider, namespace_of_visibility):
    repository = namespace_of_visibility("protected").repositories.get()
    client_of(outsider).post(f"/repositories/{repository.pk}/comments", {"body": "hi"})
    assert Comment.objects.get().author == outsider


def test_author_deletes_own_comment(client_of, viewer, repository):
    comment = Comment.objects.create(repository=repository, author=viewer, body="oops")
    assert client_of(viewer).post(f"/repositories/{repository.pk}/comments/{comment.pk}/delete").status_code == 302
    assert not Comment.objects.exists()


def test_others_may_not_delete_a_comment_but_admins_may(client_of, viewer, owner, admin, repository):
    comment = Comment.objects.create(repository=repository, author=viewer, body="mine")
    url = f"/repositories/{repository.pk}/comments/{comment.pk}/delete"
    assert client_of(owner).post(url).status_code == 403
    assert Comment.objects.exists()
    assert client_of(admin).post(url).status_code == 302
    assert not Comment.objects.exists()


def test_comment_delete_button_only_for_who_may(client_of, viewer, contributor, repository):
    comment = Comment.objects.create(repository=repository, author=viewer, body="mine")
    action = f"/repositories/{repository.pk}/comments/{comment.pk}/delete"
    assert action in client_of(viewer).get(f"/repositories/{repository.pk}").content.decode()
    assert action not in client_of(contributor).get(f"/repositories/{repository.pk}").content.decode()


def test_comment_of_another_repository_is_404(client_of, admin, repository, namespace_of_visibility):
    other = namespace_of_visibility("public").repositories.get()
    comment = Comment.objects.create(repository=other, author=admin, body="elsewhere")
    assert client_of(admin).post(f"/repositories/{repository.pk}/comments/{comment.pk}/delete").status_code == 404
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_get_changes_nothing_on_the_comment_url(client_of, viewer, repository):
    assert client_of(viewer).get(f"/repositories/{repository.pk}/comments?body=hi").status_code == 405
    assert not Comment.objects.exists()

