"""/users/edit lists the signed-in clients (refresh tokens), and /users/clients/<id>/revoke signs one out."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import RefreshToken
from accounts.services import application_token_create, refresh_token_create, user_update
from activities.models import Activity


def client_of(user, registry, **kwargs) -> RefreshToken:
    plain = refresh_token_create(user=user, registry=registry, **{"client_id": "docker", **kwargs})
    return RefreshToken.find(plain)


def test_the_profile_lists_live_clients_with_what_signed_them_in(as_user, owner, registry):
    app, _ = application_token_create(user=owner, application="laptop", by=owner)
    by_password = client_of(owner, registry)
    by_token = client_of(owner, registry, client_id="containerd-client", application_token=app)
    html = as_user(owner).get("/users/edit").content.decode()
    assert "Signed-in clients" in html
    for token in (by_password, by_token):
        assert f"{token.prefix}…" in html and token.digest not in html
        assert f"/users/clients/{token.pk}/revoke" in html
    assert "containerd-client" in html and "application token “laptop”" in html
    assert registry.hostname in html and by_password.ends_at.strftime("%Y-%m-%d") in html


def test_dead_clients_are_not_listed(as_user, owner, registry, viewer):
    expired = client_of(owner, registry)
    RefreshToken.objects.filter(pk=expired.pk).update(created_at=timezone.now() - timedelta(days=31))
    old_password = client_of(owner, registry)
    user_update(user=owner, by=owner, password="another-long-passphrase-1")
    someone_elses = client_of(viewer, registry)
    page = as_user(owner).get("/users/edit")
    assert list(page.context["clients"].object_list) == []
    html = page.content.decode()
    assert "No signed-in clients." in html
    for token in (expired, old_password, someone_elses):
        assert f"/users/clients/{token.pk}/revoke" not in html


def test_revoking_ones_own_client(as_user, owner, registry):
    token = client_of(owner, registry)
    response = as_user(owner).post(f"/users/clients/{token.pk}/revoke")
    assert response["Location"] == "/users/edit"
    assert not RefreshToken.objects.filter(pk=token.pk).exists()
    activity = Activity.objects.get(key="refresh_token.destroy")
    assert activity.owner == owner and activity.target_id == owner.pk
    assert activity.parameters == {"client_id": "docker", "prefix": token.prefix}


def test_an_admin_may_revoke_anyones_client(as_user, owner, admin, registry):
    token = client_of(owner, registry)
    response = as_user(admin).post(f"/users/clients/{token.pk}/revoke")
    assert response["Location"] == f"/admin/users/{owner.pk}"
    assert not RefreshToken.objects.filter(pk=token.pk).exists()
    assert Activity.objects.get(key="refresh_token.destroy").owner == admin


def test_an_outsider_cannot_revoke_anothers_client(as_user, owner, outsider, viewer, registry):
    token = client_of(owner, registry)
    for other in (outsider, viewer):
        assert as_user(other).post(f"/users/clients/{token.pk}/revoke").status_code == 404
    assert as_user(outsider).post("/users/clients/999999/revoke").status_code == 404
    assert as_user(owner).get(f"/users/clients/{token.pk}/revoke").status_code == 405
    response = as_user().post(f"/users/clients/{token.pk}/revoke")
    assert response.status_code == 302 and response["Location"].startswith("/users/sign_in")
    assert RefreshToken.objects.filter(pk=token.pk).exists()
    assert not Activity.objects.filter(key="refresh_token.destroy").exists()


def test_csrf_is_enforced_on_revoke(as_user, owner, registry):
    token = client_of(owner, registry)
    assert as_user(owner, enforce_csrf=True).post(f"/users/clients/{token.pk}/revoke").status_code == 403
    assert RefreshToken.objects.filter(pk=token.pk).exists()


def test_the_client_list_paginates_with_a_fixed_number_of_queries(as_user, owner, registry,
                                                                    django_assert_max_num_queries):
    app, _ = application_token_create(user=owner, application="laptop", by=owner)
    client = as_user(owner)
    client.get("/users/edit")
    for i in range(3):
        client_of(owner, registry, application_token=app if i % 2 else None)
    with django_assert_max_num_queries(10) as few:
        client.get("/users/edit")
    for i in range(3, 40):
        client_of(owner, registry, application_token=app if i % 2 else None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/users/edit")
    assert len(response.context["clients"].object_list) == 10 and response.context["clients"].paginator.count == 40


def test_the_revoke_reads_as_a_sentence_in_the_activity_list(as_user, owner, registry):
    from web.templatetags.portus_activity import activity_text

    token = client_of(owner, registry)
    as_user(owner).post(f"/users/clients/{token.pk}/revoke")
    text = activity_text(Activity.objects.get(key="refresh_token.destroy"))
    assert text == f"<strong>olivia</strong> signed out the client “docker” ({token.prefix}…) of olivia"
