"""User-written markdown renders inert on every page that shows it; forms need their CSRF token."""

from __future__ import annotations

import pytest

from namespaces.models import Comment

pytestmark = pytest.mark.django_db

HOSTILE = (
    "Hello <script>alert('owned')</script>\n\n"
    '<img src="x.png" onerror="alert(1)">\n\n'
    "[click me](javascript:alert(document.cookie))\n\n"
    "**bold** stays"
)


def assert_inert(html: str) -> None:
    assert "<script>alert" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "<strong>bold</strong>" in html


def test_namespace_description_renders_inert(client_of, owner, namespace):
    namespace.description = HOSTILE
    namespace.save()
    assert_inert(client_of(owner).get(f"/namespaces/{namespace.pk}").content.decode())


def test_team_description_renders_inert(client_of, owner, team):
    team.description = HOSTILE
    team.save()
    assert_inert(client_of(owner).get(f"/teams/{team.pk}").content.decode())


def test_repository_description_renders_inert(client_of, owner, repository):
    repository.description = HOSTILE
    repository.save()
    assert_inert(client_of(owner).get(f"/repositories/{repository.pk}").content.decode())


def test_comment_renders_inert(client_of, viewer, repository):
    client_of(viewer).post(f"/repositories/{repository.pk}/comments", {"body": HOSTILE})
    assert Comment.objects.get().body.startswith("Hello <script>")  # stored as written, made safe when shown
    assert_inert(client_of(viewer).get(f"/repositories/{repository.pk}").content.decode())


def test_names_are_escaped(client_of, outsider):
    from teams.services import team_create

    team = team_create(name="<b>bold team<b>", owner=outsider)
    html = client_of(outsider).get(f"/teams/{team.pk}").content.decode()
    assert "<b>bold team<b>" not in html and "&lt;b&gt;bold team&lt;b&gt;" in html


def test_post_without_csrf_token_is_refused(client_of, owner, namespace):
    client = client_of(owner, enforce_csrf=True)
    response = client.post(f"/namespaces/{namespace.pk}/change_visibility", {"visibility": "public"})
    assert response.status_code == 403
    namespace.refresh_from_db()
    assert namespace.visibility == "private"


def test_post_with_the_pages_csrf_token_is_accepted(client_of, owner, namespace):
    client = client_of(owner, enforce_csrf=True)
    page = client.get(f"/namespaces/{namespace.pk}")
    token = page.context["csrf_token"]
    response = client.post(f"/namespaces/{namespace.pk}/change_visibility",
                           {"visibility": "public", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    namespace.refresh_from_db()
    assert namespace.visibility == "public"


def test_comment_without_csrf_token_is_refused(client_of, viewer, repository):
    response = client_of(viewer, enforce_csrf=True).post(f"/repositories/{repository.pk}/comments", {"body": "hi"})
    assert response.status_code == 403
    assert not Comment.objects.exists()
