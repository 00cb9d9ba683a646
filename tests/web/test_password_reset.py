"""Password reset by email: Django's views with our templates and Portus's users."""

from __future__ import annotations

import re

from django.core import mail

from accounts.models import User
from tests.conftest import PASSWORD


def reset_link() -> str:
    assert len(mail.outbox) == 1
    return re.search(r"https?://[^/]+(/users/password/edit/\S+)", mail.outbox[0].body).group(1)


def test_the_request_page_renders(client, owner):
    assert client.get("/users/password/new").status_code == 200


def test_a_person_gets_a_working_link(client, owner):
    response = client.post("/users/password/new", {"email": "OLIVIA@example.org"})
    assert response["Location"] == "/users/password/sent"
    assert mail.outbox[0].to == ["olivia@example.org"]
    assert mail.outbox[0].subject == "Reset your Portus password"
    link = reset_link()
    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    response = client.post(form_url, {"new_password1": "a-brand-new-secret", "new_password2": "a-brand-new-secret"})
    assert response["Location"] == "/users/password/done"
    owner.refresh_from_db()
    assert owner.check_password("a-brand-new-secret")
    assert client.get(link).context["validlink"] is False  # used once


def test_no_mail_for_unknown_addresses_bots_or_disabled_people(client, owner, bot, admin):
    from accounts.services import user_update

    User.objects.filter(pk=bot.pk).update(email="bot@example.org")
    user_update(user=owner, by=admin, enabled=False)
    for email in ("nobody@example.org", "bot@example.org", "olivia@example.org"):
        response = client.post("/users/password/new", {"email": email})
        assert response["Location"] == "/users/password/sent"  # same answer either way
    assert mail.outbox == []


def test_a_bad_link_says_so(client, owner):
    response = client.get("/users/password/edit/MQ/bad-token")
    assert response.status_code == 200
    assert "This link is not valid" in response.content.decode()


def test_get_changes_nothing(client, owner):
    client.get("/users/password/new", {"email": "olivia@example.org"})
    assert mail.outbox == []
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


CONSOLE = "django.core.mail.backends.console.EmailBackend"


def test_with_the_console_backend_the_pages_say_the_mail_went_to_the_servers_console(client, owner, settings,
                                                                                    capsys):
    settings.EMAIL_BACKEND = CONSOLE
    assert "printed to the server's console" in client.get("/users/password/new").content.decode()
    response = client.post("/users/password/new", {"email": "olivia@example.org"}, follow=True)
    assert "printed to the server's console" in response.content.decode()
    assert "/users/password/edit/" in capsys.readouterr().out  # where the page said it went


def test_with_a_mail_server_the_pages_say_nothing_about_the_console(client, owner, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert "server's console" not in client.get("/users/password/new").content.decode()
    assert "server's console" not in client.get("/users/password/sent").content.decode()
