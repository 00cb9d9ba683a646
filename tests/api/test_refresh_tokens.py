"""/api/v1/users/:id/refresh_tokens and /api/v1/users/refresh_tokens/:id: a user's signed-in clients."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import RefreshToken
from accounts.services import application_token_create, refresh_token_create, user_update
from activities.models import Activity

pytestmark = pytest.mark.django_db

FIELDS = {"id", "prefix", "client_id", "service", "minted_with", "application_token_id", "application",
          "created_at", "last_used_at", "expires_at"}


def make(user, registry, **kwargs) -> tuple[RefreshToken, str]:
    plain = refresh_token_create(user=user, registry=registry, **{"client_id": "docker", **kwargs})
    return RefreshToken.find(plain), plain


def refresh(plain: str, service: str):
    return Client().post("/v2/token", urlencode({"grant_type": "refresh_token", "refresh_token": plain,
                                                 "service": service}),
                         content_type="application/x-www-form-urlencoded")


def test_own_clients_are_listed_without_secrets(client_as, owner, registry):
    app, _ = application_token_create(user=owner, application="laptop", by=owner)
    by_password, plain = make(owner, registry)
    by_token, _ = make(owner, registry, client_id="containerd-client", application_token=app)
    rows = client_as("owner").get(f"/api/v1/users/{owner.pk}/refresh_tokens").json()
    assert all(set(row) == FIELDS for row in rows)
    assert {row["id"]: (row["minted_with"], row["application"]) for row in rows} == {
        by_password.pk: ("password", None), by_token.pk: ("application_token", "laptop")}
    row = next(row for row in rows if row["id"] == by_password.pk)
    assert row["prefix"] == by_password.prefix and plain.startswith(row["prefix"])
    assert row["service"] == registry.hostname and row["client_id"] == "docker" and row["expires_at"]
    body = str(rows)
    assert plain not in body and by_password.digest not in body


def test_dead_clients_are_not_listed(client_as, owner, registry):
    make(owner, registry)
    user_update(user=owner, by=owner, password="another-long-passphrase-1")
    assert client_as("owner").get(f"/api/v1/users/{owner.pk}/refresh_tokens").json() == []


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("contributor", 403), ("outsider", 403), ("bot", 403), ("anonymous", 401),
])
def test_someone_elses_clients(client_as, owner, registry, role, status):
    make(owner, registry)
    response = client_as(role).get(f"/api/v1/users/{owner.pk}/refresh_tokens")
    assert response.status_code == status
    if status == 200:
        assert len(response.json()) == 1


def test_unknown_user_is_404_for_admins_and_403_for_others(client_as):
    assert client_as("admin").get("/api/v1/users/999999/refresh_tokens").status_code == 404
    assert client_as("owner").get("/api/v1/users/999999/refresh_tokens").status_code == 403


def test_revoking_one_signs_the_client_out_at_once(client_as, owner, registry):
    token, plain = make(owner, registry)
    assert refresh(plain, registry.hostname).status_code == 200
    response = client_as("owner").delete(f"/api/v1/users/refresh_tokens/{token.pk}")
    assert response.status_code == 204
    assert refresh(plain, registry.hostname).status_code == 401
    activity = Activity.objects.get(key="refresh_token.destroy")
    assert activity.owner == owner and activity.parameters["prefix"] == token.prefix


def test_admin_revokes_anyones(client_as, owner, registry):
    token, _ = make(owner, registry)
    assert client_as("admin").delete(f"/api/v1/users/refresh_tokens/{token.pk}").status_code == 204
    assert not RefreshToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize("role", ["contributor", "outsider", "bot", "viewer"])
def test_an_outsider_cannot_revoke_anothers(client_as, owner, registry, role):
    token, plain = make(owner, registry)
    assert client_as(role).delete(f"/api/v1/users/refresh_tokens/{token.pk}").status_code == 404
    assert client_as(role).delete("/api/v1/users/refresh_tokens/999999").status_code == 404
    assert RefreshToken.objects.filter(pk=token.pk).exists()
    assert refresh(plain, registry.hostname).status_code == 200


def test_anonymous_cannot_revoke(client_as, owner, registry):
    token, _ = make(owner, registry)
    assert client_as("anonymous").delete(f"/api/v1/users/refresh_tokens/{token.pk}").status_code == 401
    assert RefreshToken.objects.filter(pk=token.pk).exists()


def test_the_list_queries_do_not_grow_with_rows(client_as, owner, registry, django_assert_max_num_queries):
    app, _ = application_token_create(user=owner, application="laptop", by=owner)
    client = client_as("owner")
    url = f"/api/v1/users/{owner.pk}/refresh_tokens"
    for i in range(2):
        make(owner, registry, application_token=app if i % 2 else None)
    client.get(url)
    with django_assert_max_num_queries(12) as few:
        client.get(url, {"per_page": 100})
    for i in range(20):
        make(owner, registry, application_token=app if i % 2 else None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url, {"per_page": 100}).json()) == 22
