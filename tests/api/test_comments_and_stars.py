"""Comments (repositories/:id/comments) and stars (repositories/:id/toggle_star), as Portus's UI had them."""

from __future__ import annotations

import pytest

from namespaces.models import Comment, Star
from namespaces.social import comment_create

pytestmark = pytest.mark.django_db


def comment_url(repository, comment=None) -> str:
    base = f"/api/v1/repositories/{repository.pk}/comments"
    return f"{base}/{comment.pk}" if comment else base


class TestComments:
    def test_list(self, client_as, repository, owner):
        comment_create(repository=repository, author=owner, body="Looks *good*")
        rows = client_as("viewer").get(comment_url(repository)).json()
        assert len(rows) == 1
        assert set(rows[0]) == {"id", "repository_id", "created_at", "updated_at", "body", "body_md", "author",
                                "destroyable"}
        assert rows[0]["author"] == {"id": owner.pk, "name": "olivia", "username": "olivia"}
        assert "<em>good</em>" in rows[0]["body_md"]
        assert rows[0]["destroyable"] is False

    @pytest.mark.parametrize("role, status", [
        ("admin", 201), ("owner", 201), ("viewer", 201), ("bot", 201), ("outsider", 404), ("anonymous", 401),
    ])
    def test_who_may_comment(self, client_as, repository, role, status):
        response = client_as(role).post(comment_url(repository), {"comment": {"body": "hi"}}, format="json")
        assert response.status_code == status

    def test_outsider_comments_on_public_repository(self, client_as, team, public_repository):
        response = client_as("outsider").post(comment_url(public_repository), {"comment": {"body": "nice"}},
                                              format="json")
        assert response.status_code == 201
        assert response.json()["destroyable"] is True

    def test_empty_body_is_400(self, client_as, repository):
        response = client_as("owner").post(comment_url(repository), {"comment": {"body": ""}}, format="json")
        assert response.status_code == 400
        assert "body" in response.json()["message"]["comment"]

    def test_blank_body_is_400(self, client_as, repository):
        response = client_as("owner").post(comment_url(repository), {"comment": {"body": "   "}}, format="json")
        assert response.status_code == 400

    def test_too_long_body_is_400(self, client_as, repository):
        response = client_as("owner").post(comment_url(repository), {"comment": {"body": "x" * 10001}},
                                           format="json")
        assert response.status_code == 400

    def test_author_deletes(self, client_as, repository, viewer):
        comment = comment_create(repository=repository, author=viewer, body="oops")
        assert client_as("viewer").delete(comment_url(repository, comment)).status_code == 204
        assert not Comment.objects.filter(pk=comment.pk).exists()

    @pytest.mark.parametrize("role, status", [("admin", 204), ("owner", 403), ("outsider", 404)])
    def test_others_delete(self, client_as, repository, viewer, role, status):
        comment = comment_create(repository=repository, author=viewer, body="mine")
        assert client_as(role).delete(comment_url(repository, comment)).status_code == status

    def test_comment_of_another_repository_is_404(self, client_as, repository, namespace, viewer):
        from tests.api.conftest import make_repository

        other = make_repository(namespace, name="other")
        comment = comment_create(repository=other, author=viewer, body="elsewhere")
        assert client_as("viewer").delete(comment_url(repository, comment)).status_code == 404


class TestStars:
    def test_toggle(self, client_as, repository, viewer):
        client = client_as("viewer")
        response = client.post(f"/api/v1/repositories/{repository.pk}/toggle_star")
        assert response.status_code == 200
        assert response.json()["starred"] is True and response.json()["stars"] == 1
        assert Star.objects.filter(repository=repository, user=viewer).exists()
        response = client.post(f"/api/v1/repositories/{repository.pk}/toggle_star")
        assert response.json()["starred"] is False and response.json()["stars"] == 0

    def test_starred_is_per_caller(self, client_as, repository):
        client_as("viewer").post(f"/api/v1/repositories/{repository.pk}/toggle_star")
        body = client_as("owner").get(f"/api/v1/repositories/{repository.pk}").json()
        assert body["stars"] == 1 and body["starred"] is False

    @pytest.mark.parametrize("role, status", [("outsider", 404), ("anonymous", 401), ("bot", 200)])
    def test_access(self, client_as, repository, role, status):
        assert client_as(role).post(f"/api/v1/repositories/{repository.pk}/toggle_star").status_code == status
