"""/users/edit: email and display name, password change, application tokens (shown once)."""

from __future__ import annotations

from accounts.models import ApplicationToken, User
from activities.models import Activity
from tests.conftest import PASSWORD


def test_anonymous_visitors_are_sent_to_sign_in(client, owner):
    for url in ("/users/edit",):
        assert client.get(url)["Location"] == f"/users/sign_in?next={url}"
    for url in ("/users/edit", "/users/password", "/users/application_tokens"):
        response = client.post(url, {})
        assert response.status_code == 302 and response["Location"].startswith("/users/sign_in")


def test_the_page_shows_the_users_details_and_tokens(as_user, owner):
    ApplicationToken.objects.create(user=owner, application="CI pipeline", prefix="pat_abcdefg", digest="x" * 64)
    html = as_user(owner).get("/users/edit").content.decode()
    assert 'value="olivia@example.org"' in html
    assert "CI pipeline" in html and "pat_abcdefg…" in html


def test_profile_changes_go_through_the_service(as_user, owner):
    response = as_user(owner).post("/users/edit", {"email": "olivia@new.example.org", "display_name": "Olivia O."})
    assert response["Location"] == "/users/edit"
    owner.refresh_from_db()
    assert owner.email == "olivia@new.example.org" and owner.display_name == "Olivia O."
    assert Activity.objects.filter(key="user.change_email", target_id=owner.pk).exists()


def test_a_taken_email_is_refused(as_user, owner, viewer):
    response = as_user(owner).post("/users/edit", {"email": "vera@example.org", "display_name": ""})
    assert response.status_code == 400
    assert "email" in response.context["profile_form"].errors
    owner.refresh_from_db()
    assert owner.email == "olivia@example.org"


def test_get_changes_nothing(as_user, owner):
    as_user(owner).get("/users/edit", {"email": "x@example.org", "display_name": "X"})
    owner.refresh_from_db()
    assert owner.email == "olivia@example.org" and owner.display_name == ""
    assert as_user(owner).get("/users/password").status_code == 405
    assert as_user(owner).get("/users/application_tokens", {"application": "x"}).status_code == 405
    assert not ApplicationToken.objects.exists()


# --- password ---------------------------------------------------------------------------------------


def test_the_password_changes_and_the_session_survives(as_user, owner):
    client = as_user(owner)
    response = client.post("/users/password", {"current_password": PASSWORD, "password": "another-long-secret",
                                                "password_confirm": "another-long-secret"})
    assert response["Location"] == "/users/edit"
    owner.refresh_from_db()
    assert owner.check_password("another-long-secret")
    assert client.get("/users/edit").status_code == 200  # still signed in


def test_the_current_password_is_required(as_user, owner):
    response = as_user(owner).post("/users/password", {"current_password": "wrong", "password": "another-long-secret",
                                                       "password_confirm": "another-long-secret"})
    assert response.status_code == 400
    assert "current_password" in response.context["password_form"].errors
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_the_new_password_must_be_typed_twice_and_be_good(as_user, owner):
    client = as_user(owner)
    response = client.post("/users/password", {"current_password": PASSWORD, "password": "another-long-secret",
                                                "password_confirm": "different-long-secret"})
    assert "password_confirm" in response.context["password_form"].errors
    response = client.post("/users/password", {"current_password": PASSWORD, "password": "password",
                                                "password_confirm": "password"})
    assert "password" in response.context["password_form"].errors
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


# --- application tokens ------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_stored_hashed(as_user, owner):
    response = as_user(owner).post("/users/application_tokens", {"application": "CI pipeline", "expires_in": "90"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    plain = response.context["plain"]
    assert plain.startswith("pat_") and plain in response.content.decode()
    token = ApplicationToken.objects.get(user=owner)
    assert token.application == "CI pipeline" and token.expires_at is not None
    assert plain not in (token.digest, token.prefix) and token.digest == ApplicationToken.hash_secret(plain)
    assert plain not in as_user(owner).get("/users/edit").content.decode()
    assert ApplicationToken.find(plain).user == owner  # it works as a password for docker login


def test_a_duplicate_application_is_refused(as_user, owner):
    client = as_user(owner)
    client.post("/users/application_tokens", {"application": "CI"})
    response = client.post("/users/application_tokens", {"application": "CI"})
    assert response.status_code == 400
    assert "already a token" in " ".join(response.context["token_form"].errors["application"])
    assert ApplicationToken.objects.filter(user=owner).count() == 1


def test_revoking_ones_own_token(as_user, owner):
    client = as_user(owner)
    client.post("/users/application_tokens", {"application": "CI"})
    token = ApplicationToken.objects.get(user=owner)
    response = client.post(f"/users/application_tokens/{token.pk}/revoke")
    assert response["Location"] == "/users/edit"
    assert not ApplicationToken.objects.filter(pk=token.pk).exists()
    assert Activity.objects.filter(key="application_token.destroy").exists()


def test_someone_elses_token_is_404(as_user, owner, outsider, admin):
    as_user(owner).post("/users/application_tokens", {"application": "CI"})
    token = ApplicationToken.objects.get(user=owner)
    for other in (outsider, admin):  # admins revoke others' tokens from the admin pages, not here
        assert as_user(other).post(f"/users/application_tokens/{token.pk}/revoke").status_code == 404
    assert as_user(owner).get(f"/users/application_tokens/{token.pk}/revoke").status_code == 405
    assert ApplicationToken.objects.filter(pk=token.pk).exists()


def test_the_token_list_paginates_with_a_fixed_number_of_queries(as_user, owner, django_assert_max_num_queries):
    client = as_user(owner)
    client.get("/users/edit")
    for i in range(3):
        ApplicationToken.objects.create(user=owner, application=f"app {i}", prefix="pat_x", digest=f"{i:064d}")
    with django_assert_max_num_queries(8) as few:
        client.get("/users/edit")
    for i in range(3, 40):
        ApplicationToken.objects.create(user=owner, application=f"app {i}", prefix="pat_x", digest=f"{i:064d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/users/edit")
    assert len(response.context["tokens"].object_list) == 10 and response.context["tokens"].paginator.count == 40


def test_csrf_is_enforced_on_token_creation(as_user, owner):
    assert as_user(owner, enforce_csrf=True).post("/users/application_tokens", {"application": "x"}).status_code == 403
    assert not ApplicationToken.objects.exists()


# --- accounts whose password lives elsewhere ---------------------------------------------------------


def test_an_ldap_account_is_told_where_its_password_is_changed(as_user, owner):
    from ldapauth.models import LdapAccount

    LdapAccount.objects.create(user=owner, dn="uid=olivia,ou=people,dc=example,dc=org")
    client = as_user(owner)
    html = client.get("/users/edit").content.decode()
    assert "directory (LDAP): change it there" in html
    assert 'name="current_password"' not in html and "Change password" not in html
    before = User.objects.get(pk=owner.pk).password
    response = client.post("/users/password", {"current_password": PASSWORD, "password": "another-long-secret",
                                                "password_confirm": "another-long-secret"})
    assert response.status_code == 403
    assert User.objects.get(pk=owner.pk).password == before


def test_an_account_without_a_password_is_not_offered_a_change(as_user, owner):
    owner.set_unusable_password()
    owner.save(update_fields=["password"])
    html = as_user(owner).get("/users/edit").content.decode()
    assert "no password here: you sign in with single sign-on" in html
    assert 'name="current_password"' not in html


def test_a_local_account_still_changes_its_password_here(as_user, owner):
    html = as_user(owner).get("/users/edit").content.decode()
    assert 'name="current_password"' in html and "password-elsewhere" not in html
