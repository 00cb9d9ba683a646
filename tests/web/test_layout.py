"""The shared layout: navigation per actor, theme, Bootstrap from the wheel, copy buttons, error pages."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory


def test_bootstrap_is_served_from_the_wheel(client):
    from bootstrap_wrapper import get_bootstrap_dir
    from django.contrib.staticfiles import finders

    assert finders.find("bootstrap/css/bootstrap.min.css") == str(get_bootstrap_dir() / "css" / "bootstrap.min.css")
    for path in ("/static/bootstrap/css/bootstrap.min.css", "/static/bootstrap/js/bootstrap.bundle.min.js",
                 "/static/portus/portus.css", "/static/portus/portus.js", "/static/portus/theme.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_the_theme_is_set_before_the_stylesheets_and_nothing_comes_from_a_cdn(client, owner):
    html = client.get("/users/sign_in").content.decode()
    assert html.index("portus/theme.js") < html.index("bootstrap.min.css")
    assert "http://" not in html.split("<body")[0] and "https://" not in html.split("<body")[0]
    assert 'data-theme-choice="dark"' in html and 'data-theme-choice="auto"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


@pytest.mark.django_db
def test_anonymous_navigation_offers_explore_search_and_sign_in(client, options, owner):
    html = client.get("/users/sign_in").content.decode()
    assert 'href="/explore"' in html and 'action="/search"' in html
    assert 'href="/users/sign_in"' in html and 'href="/users/sign_up"' in html
    assert 'href="/namespaces"' not in html and "Admin" not in html

    options.set("signup.enabled", False)
    options.set("anonymous_browsing.enabled", False)
    html = client.get("/users/sign_in").content.decode()
    assert 'href="/users/sign_up"' not in html and 'href="/explore"' not in html


def test_members_see_the_sections_but_not_the_admin_menu(as_user, owner):
    html = as_user(owner).get("/").content.decode()
    for href in ('href="/"', 'href="/namespaces"', 'href="/teams"', 'href="/repositories"', 'href="/explore"',
                 'href="/users/edit"'):
        assert href in html
    assert 'action="/search"' in html and 'name="q"' in html
    assert 'href="/admin/users"' not in html
    assert 'action="/users/sign_out" method="post"' in html


def test_admins_get_the_admin_menu(as_user, admin):
    html = as_user(admin).get("/").content.decode()
    for href in ("/admin", "/admin/users", "/admin/registries", "/admin/activities"):
        assert f'href="{href}"' in html


def test_user_text_in_the_layout_is_escaped(as_user, owner):
    from accounts.services import user_update

    user_update(user=owner, by=owner, display_name='<script>alert("x")</script>')
    html = as_user(owner).get("/").content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_messages_are_shown_once(as_user, owner):
    client = as_user(owner)
    client.post("/users/edit", {"email": "new@example.org", "display_name": "Olivia"})
    assert "Profile saved." in client.get("/").content.decode()
    assert "Profile saved." not in client.get("/").content.decode()


def test_command_partial_has_a_copy_button():
    html = render_to_string("_command.html", {"command": "docker pull registry.test.lan:5000/qa/app:1.0"})
    assert 'data-copy="docker pull registry.test.lan:5000/qa/app:1.0"' in html
    assert "<code" in html and 'type="button"' in html


def test_copy_helper_and_theme_toggle_are_in_our_script(client):
    response = client.get("/static/portus/portus.js")
    script = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    assert "[data-copy]" in script and "execCommand" in script  # works on plain-http registries too
    assert "portus-theme" in script and "prefers-color-scheme" in script


# --- error pages ------------------------------------------------------------------------------------


def test_404_uses_the_layout(as_user, owner):
    response = as_user(owner).get("/no/such/page")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Nothing here" in html and 'href="/users/edit"' in html and "bootstrap.min.css" in html


def test_403_uses_the_layout(as_user, owner):
    response = as_user(owner).get("/admin/users")
    assert response.status_code == 403
    assert "You may not do this" in response.content.decode()


def test_500_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html and "bootstrap.min.css" in html


def test_500_handler_answers_even_when_the_template_fails(monkeypatch):
    from web.views import errors

    request = RequestFactory().get("/")
    assert errors.server_error(request).status_code == 500

    def broken(name):
        raise RuntimeError("template engine down")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    response = errors.server_error(request)
    assert response.status_code == 500 and b"Something went wrong" in response.content


@pytest.mark.django_db
def test_an_unhandled_error_gets_the_500_page(settings):
    from django.urls import path

    def boom(request):
        raise RuntimeError("boom")

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("boom", boom)],
                                              "handler500": "web.views.errors.server_error"})
    client = Client(raise_request_exception=False)
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
