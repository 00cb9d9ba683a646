"""/admin/users: search, create people and bots, enable/disable, admin rights, unlock, delete, tokens."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import ApplicationToken, User
from activities.models import Activity
from namespaces.models import Namespace
from tests.conftest import PASSWORD


def test_the_list_shows_users_with_their_state(as_user, admin, owner, bot, internal_account):
    User.objects.filter(pk=owner.pk).update(locked_until=timezone.now() + timedelta(minutes=5))
    html = as_user(admin).get("/admin/users").content.decode()
    for name in ("admin", "olivia", "ci-bot", "portus"):
        assert f">{name}</a>" in html
    assert ">locked</span>" in html and ">bot</span>" in html and ">internal</span>" in html
    assert f'action="/admin/users/{owner.pk}/unlock"' in html
    # The internal account offers no action that its services would refuse.
    assert f'action="/admin/users/{internal_account.pk}/enabled"' not in html


def test_search_and_filters(as_user, admin, owner, viewer, bot):
    client = as_user(admin)
    names = lambda response: [u.username for u in response.context["page"]]  # noqa: E731
    assert names(client.get("/admin/users", {"q": "oliv"})) == ["olivia"]
    assert names(client.get("/admin/users", {"q": "vera@example"})) == ["vera"]
    assert names(client.get("/admin/users", {"kind": "bots"})) == ["ci-bot"]
    assert names(client.get("/admin/users", {"kind": "admins"})) == ["admin"]


def test_the_list_paginates_with_a_fixed_number_of_queries(as_user, admin, django_assert_max_num_queries):
    client = as_user(admin)
    client.get("/admin/users")
    with django_assert_max_num_queries(10) as few:
        client.get("/admin/users")
    for i in range(120):
        User.objects.create(username=f"person{i:03d}", email=f"p{i}@example.org")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/admin/users", {"page": 2})
    page = response.context["page"]
    assert page.number == 2 and len(page.object_list) == 50 and page.paginator.count == 121


# --- create -----------------------------------------------------------------------------------------


def test_creating_a_person(as_user, admin, registry):
    response = as_user(admin).post("/admin/users/new", {
        "username": "newbie", "email": "newbie@example.org", "display_name": "New Bie",
        "password": PASSWORD, "password_confirm": PASSWORD,
    })
    user = User.objects.get(username="newbie")
    assert response["Location"] == f"/admin/users/{user.pk}"
    assert not user.admin and not user.bot and user.check_password(PASSWORD)
    assert Namespace.objects.filter(name="newbie", registry=registry).exists()
    assert Activity.objects.get(key="user.create", target_id=user.pk).owner == admin


def test_creating_a_bot_without_password_or_email(as_user, admin):
    as_user(admin).post("/admin/users/new", {"username": "ci-runner", "bot": "on"})
    bot = User.objects.get(username="ci-runner")
    assert bot.bot and bot.email is None and not bot.has_usable_password()


def test_a_person_needs_an_email_and_a_password(as_user, admin):
    response = as_user(admin).post("/admin/users/new", {"username": "newbie"})
    assert response.status_code == 400
    assert {"email", "password"} <= set(response.context["form"].errors)
    assert not User.objects.filter(username="newbie").exists()


def test_an_admin_can_be_created(as_user, admin):
    as_user(admin).post("/admin/users/new", {"username": "boss", "email": "boss@example.org", "admin": "on",
                                             "password": PASSWORD, "password_confirm": PASSWORD})
    assert User.objects.get(username="boss").admin


def test_a_taken_name_is_refused(as_user, admin, owner):
    response = as_user(admin).post("/admin/users/new", {"username": "olivia", "bot": "on"})
    assert "already exists" in " ".join(response.context["form"].errors["username"])


# --- enable, admin, unlock ----------------------------------------------------------------------------


def test_disable_and_enable(as_user, admin, owner):
    client = as_user(admin)
    response = client.post(f"/admin/users/{owner.pk}/enabled", {"value": "0", "next": "/admin/users?q=oli"})
    assert response["Location"] == "/admin/users?q=oli"
    owner.refresh_from_db()
    assert not owner.enabled
    assert Activity.objects.filter(key="user.disabled", target_id=owner.pk).exists()
    client.post(f"/admin/users/{owner.pk}/enabled", {"value": "1"})
    owner.refresh_from_db()
    assert owner.enabled


def test_next_must_be_local(as_user, admin, owner):
    response = as_user(admin).post(f"/admin/users/{owner.pk}/enabled", {"value": "0", "next": "https://evil.example/"})
    assert response["Location"] == "/admin/users"


def test_make_and_remove_admin(as_user, admin, owner):
    client = as_user(admin)
    client.post(f"/admin/users/{owner.pk}/admin", {"value": "1"})
    owner.refresh_from_db()
    assert owner.admin
    client.post(f"/admin/users/{owner.pk}/admin", {"value": "0"})
    owner.refresh_from_db()
    assert not owner.admin


def test_the_last_admin_stays_with_a_message(as_user, admin):
    client = as_user(admin)
    client.post(f"/admin/users/{admin.pk}/admin", {"value": "0"})
    admin.refresh_from_db()
    assert admin.admin
    assert "last enabled admin" in client.get("/admin/users").content.decode()


def test_an_action_without_a_direction_changes_nothing(as_user, admin, owner):
    as_user(admin).post(f"/admin/users/{owner.pk}/enabled", {})
    owner.refresh_from_db()
    assert owner.enabled


def test_unlock(as_user, admin, owner):
    User.objects.filter(pk=owner.pk).update(locked_until=timezone.now() + timedelta(minutes=5), failed_attempts=3)
    as_user(admin).post(f"/admin/users/{owner.pk}/unlock")
    owner.refresh_from_db()
    assert not owner.is_locked() and owner.failed_attempts == 0


def test_disabling_needs_the_csrf_token(as_user, admin, owner):
    client = as_user(admin, enforce_csrf=True)
    assert client.post(f"/admin/users/{owner.pk}/enabled", {"value": "0"}).status_code == 403
    owner.refresh_from_db()
    assert owner.enabled
    client.get("/admin/users")
    token = client.cookies["csrftoken"].value
    client.post(f"/admin/users/{owner.pk}/enabled", {"value": "0", "csrfmiddlewaretoken": token})
    owner.refresh_from_db()
    assert not owner.enabled


# --- edit, delete -------------------------------------------------------------------------------------


def test_editing_details(as_user, admin, owner):
    response = as_user(admin).post(f"/admin/users/{owner.pk}/edit", {"email": "o@example.org", "display_name": "O"})
    assert response["Location"] == f"/admin/users/{owner.pk}"
    owner.refresh_from_db()
    assert owner.email == "o@example.org" and owner.display_name == "O"


def test_delete_asks_first_and_get_changes_nothing(as_user, admin, owner):
    response = as_user(admin).get(f"/admin/users/{owner.pk}/delete")
    assert response.status_code == 200 and "This cannot be undone" in response.content.decode()
    assert User.objects.filter(pk=owner.pk).exists()


def test_delete(as_user, admin, outsider, fake_registry):
    response = as_user(admin).post(f"/admin/users/{outsider.pk}/delete")
    assert response["Location"] == "/admin/users"
    assert not User.objects.filter(pk=outsider.pk).exists()
    assert not Namespace.objects.filter(name="oscar").exists()


def test_delete_refused_by_the_service_shows_why(as_user, admin, owner, team):
    client = as_user(admin)
    response = client.post(f"/admin/users/{owner.pk}/delete")
    assert response["Location"] == f"/admin/users/{owner.pk}"
    assert "only owner of team qa" in client.get(response["Location"]).content.decode()
    assert User.objects.filter(pk=owner.pk).exists()


def test_the_internal_account_cannot_be_deleted(as_user, admin, internal_account):
    as_user(admin).post(f"/admin/users/{internal_account.pk}/delete")
    assert User.objects.filter(pk=internal_account.pk).exists()


# --- tokens of a bot ----------------------------------------------------------------------------------


def test_admins_create_and_revoke_a_bots_tokens(as_user, admin, bot):
    client = as_user(admin)
    response = client.post(f"/admin/users/{bot.pk}/application_tokens", {"application": "CI"})
    assert response.status_code == 201
    plain = response.context["plain"]
    token = ApplicationToken.objects.get(user=bot)
    assert ApplicationToken.find(plain) == token
    assert f"docker login -u {bot.username} --password-stdin registry.test.lan:5000" in response.content.decode()
    assert plain not in client.get(f"/admin/users/{bot.pk}").content.decode()
    client.post(f"/admin/users/{bot.pk}/application_tokens/{token.pk}/revoke")
    assert not ApplicationToken.objects.filter(pk=token.pk).exists()


def test_a_token_is_revoked_only_through_its_owner(as_user, admin, bot, owner):
    token = ApplicationToken.objects.create(user=owner, application="x", prefix="pat_x", digest="d" * 64)
    assert as_user(admin).post(f"/admin/users/{bot.pk}/application_tokens/{token.pk}/revoke").status_code == 404
    assert ApplicationToken.objects.filter(pk=token.pk).exists()
