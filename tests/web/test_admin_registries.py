"""/admin/registries: list, add with the reachability check (or save anyway), edit."""

from __future__ import annotations

from activities.models import Activity
from namespaces.models import Namespace
from registries.models import Registry


def new(**extra):
    return {"name": "second", "hostname": "registry2.test.lan:5000", "use_ssl": "on", **extra}


def test_the_list(as_user, admin, registry):
    html = as_user(admin).get("/admin/registries").content.decode()
    assert "registry.test.lan:5000" in html and f'href="/admin/registries/{registry.pk}/edit"' in html


def test_adding_a_reachable_registry(as_user, admin, reachable, owner):
    response = as_user(admin).post("/admin/registries/new", new())
    assert response["Location"] == "/admin/registries"
    registry = Registry.objects.get(name="second")
    assert registry.use_ssl and registry.hostname == "registry2.test.lan:5000"
    assert Namespace.objects.filter(registry=registry, is_global=True).exists()
    assert Namespace.objects.filter(registry=registry, name="olivia").exists()
    assert Activity.objects.filter(key="registry.create", owner=admin).exists()


def test_an_unreachable_registry_is_refused_with_the_reason(as_user, admin, unreachable):
    response = as_user(admin).post("/admin/registries/new", new())
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not reachable" in html and 'name="save_anyway"' in html
    assert not Registry.objects.filter(name="second").exists()


def test_save_anyway_skips_the_check(as_user, admin, monkeypatch):
    from registries import services

    def must_not_run(**kwargs):
        raise AssertionError("checked")

    monkeypatch.setattr(services, "registry_check", must_not_run)
    as_user(admin).post("/admin/registries/new", new(save_anyway="on"))
    assert Registry.objects.filter(name="second").exists()


def test_invalid_host_names_are_refused(as_user, admin, reachable):
    response = as_user(admin).post("/admin/registries/new", new(hostname="not a host"))
    assert "hostname" in response.context["form"].errors
    assert not Registry.objects.filter(name="second").exists()


def test_get_changes_nothing(as_user, admin, registry):
    as_user(admin).get("/admin/registries/new", new())
    as_user(admin).get(f"/admin/registries/{registry.pk}/edit", {"name": "renamed"})
    assert list(Registry.objects.values_list("name", flat=True)) == ["main"]


def test_renaming_does_not_check_reachability(as_user, admin, registry, monkeypatch):
    from registries import services

    monkeypatch.setattr(services, "registry_check", lambda **kw: (_ for _ in ()).throw(AssertionError("checked")))
    response = as_user(admin).post(f"/admin/registries/{registry.pk}/edit", {
        "name": "renamed", "hostname": registry.hostname, "external_hostname": ""})
    assert response["Location"] == "/admin/registries"
    registry.refresh_from_db()
    assert registry.name == "renamed" and not registry.use_ssl


def test_moving_to_an_unreachable_host_is_refused_unless_saved_anyway(as_user, admin, registry, unreachable):
    client = as_user(admin)
    form = {"name": "main", "hostname": "elsewhere.test.lan:5000", "external_hostname": ""}
    assert client.post(f"/admin/registries/{registry.pk}/edit", form).status_code == 400
    registry.refresh_from_db()
    assert registry.hostname == "registry.test.lan:5000"
    client.post(f"/admin/registries/{registry.pk}/edit", {**form, "save_anyway": "on"})
    registry.refresh_from_db()
    assert registry.hostname == "elsewhere.test.lan:5000"


def test_csrf_is_enforced(as_user, admin, reachable):
    assert as_user(admin, enforce_csrf=True).post("/admin/registries/new", new()).status_code == 403
    assert not Registry.objects.filter(name="second").exists()


def test_a_refusal_from_the_service_marks_the_field(as_user, admin, unreachable):
    html = as_user(admin).post("/admin/registries/new", new()).content.decode()
    assert 'class="form-control is-invalid"' in html and 'id="id_hostname_error"' in html


# --- notification secrets ----------------------------------------------------------------------------


def test_an_admin_makes_a_notification_secret_and_sees_it_once(as_user, admin, registry):
    client = as_user(admin)
    edit = client.get(f"/admin/registries/{registry.pk}/edit").content.decode()
    assert "no notification secret of its own" in edit
    assert f'action="/admin/registries/{registry.pk}/notification-secret"' in edit
    response = client.post(f"/admin/registries/{registry.pk}/notification-secret")
    assert response.status_code == 201 and "no-cache" in response["Cache-Control"]
    plain = response.context["plain"]
    html = response.content.decode()
    assert plain.startswith("pns_") and plain in html and f"Authorization: [Bearer {plain}]" in html
    assert "http://testserver/v2/webhooks/events" in html
    assert Registry.for_notification_secret(plain) == registry
    for page in ("/admin/registries", f"/admin/registries/{registry.pk}/edit"):
        later = client.get(page).content.decode()
        assert plain not in later and plain[:11] in later
    assert Activity.objects.filter(key="registry.update", owner=admin,
                                   parameters__changed="notification_secret").exists()


def test_a_new_secret_keeps_the_previous_one_for_a_day_unless_revoked(as_user, admin, registry):
    client = as_user(admin)
    first = client.post(f"/admin/registries/{registry.pk}/notification-secret").context["plain"]
    second = client.post(f"/admin/registries/{registry.pk}/notification-secret")
    assert "still accepted until" in second.content.decode()
    assert Registry.for_notification_secret(first) == registry
    assert "The previous one is accepted until" in client.get(f"/admin/registries/{registry.pk}/edit").content.decode()
    third = client.post(f"/admin/registries/{registry.pk}/notification-secret", {"revoke_previous": "on"})
    assert "No earlier secret is accepted" in third.content.decode()
    assert Registry.for_notification_secret(second.context["plain"]) is None
    assert Registry.for_notification_secret(first) is None


def test_only_admins_make_notification_secrets(as_user, owner, registry):
    assert as_user(owner).post(f"/admin/registries/{registry.pk}/notification-secret").status_code == 403
    assert as_user(None).post(f"/admin/registries/{registry.pk}/notification-secret").status_code == 302
    assert not Registry.objects.get(pk=registry.pk).has_notification_secret


def test_making_a_secret_needs_a_post_with_csrf(as_user, admin, registry):
    assert as_user(admin).get(f"/admin/registries/{registry.pk}/notification-secret").status_code == 405
    assert as_user(admin, enforce_csrf=True).post(
        f"/admin/registries/{registry.pk}/notification-secret").status_code == 403
    assert as_user(admin).post("/admin/registries/999999/notification-secret").status_code == 404
    assert not Registry.objects.get(pk=registry.pk).has_notification_secret


def test_the_list_warns_about_the_legacy_shared_secret(as_user, admin, registry, options):
    assert "PORTUS_WEBHOOK_SECRET, which is legacy" in as_user(admin).get("/admin/registries").content.decode()
    options.set("secrets.webhook_secret", "")
    assert "which is legacy" not in as_user(admin).get("/admin/registries").content.decode()


# --- delete ----------------------------------------------------------------------------------------------


def test_the_list_offers_delete(as_user, admin, registry):
    html = as_user(admin).get("/admin/registries").content.decode()
    assert f'href="/admin/registries/{registry.pk}/delete"' in html


def test_an_unused_registry_is_deleted_after_confirmation(as_user, admin, registry):
    client = as_user(admin)
    page = client.get(f"/admin/registries/{registry.pk}/delete")
    assert page.status_code == 200 and "storage are not touched" in page.content.decode()
    assert Registry.objects.filter(pk=registry.pk).exists()  # GET changes nothing
    response = client.post(f"/admin/registries/{registry.pk}/delete")
    assert response["Location"] == "/admin/registries"
    assert not Registry.objects.filter(pk=registry.pk).exists()
    activity = Activity.objects.get(key="registry.delete")
    assert activity.owner == admin and activity.target_name == "main"


def test_delete_is_refused_while_namespaces_depend_and_says_what_to_do(as_user, admin, namespace):
    registry = namespace.registry
    client = as_user(admin)
    page = client.get(f"/admin/registries/{registry.pk}/delete").content.decode()
    assert "cannot be deleted" in page and "<li class=\"portus-break\">qa</li>" in page
    assert "Delete those namespaces first" in page and 'type="submit"' not in page.split("<main")[-1]
    response = client.post(f"/admin/registries/{registry.pk}/delete", follow=True)
    assert Registry.objects.filter(pk=registry.pk).exists()
    assert "still depends on it: qa" in response.content.decode()


def test_many_dependents_are_counted_not_all_listed(as_user, admin, owner, team, registry):
    from namespaces.services import namespace_create

    for i in range(8):
        namespace_create(name=f"ns{i}", team=team, by=owner, registry=registry)
    page = as_user(admin).get(f"/admin/registries/{registry.pk}/delete").content.decode()
    assert "8 namespaces still depend on it" in page and "and 3 more" in page


def test_only_admins_delete_registries(as_user, owner, registry):
    assert as_user(owner).post(f"/admin/registries/{registry.pk}/delete").status_code in (403, 404)
    assert Registry.objects.filter(pk=registry.pk).exists()
