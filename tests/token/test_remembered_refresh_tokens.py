"""Refresh tokens remembered by the token endpoint (realm/token.py): the grant that the docker CLI sends
for every token after `docker login` costs one read, like an application token, and every change to the
token, its user, the credential that minted it or its registry is seen at the very next request. Refresh
tokens change a number of their own (realm/generation.py): minting one changes nothing, and retiring one
(a revoke, or the pruning past a user's limit) leaves every other remembered credential and decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.models import ApplicationToken, RefreshToken, User
from accounts.services import application_token_create, application_token_revoke, refresh_token_revoke
from realm import decisions, generation
from registries.models import Registry
from tests.conftest import PASSWORD
from tests.token.test_decision_cache import _tables, drop_a_trigger
from tests.token.test_refresh_tokens import mint
from tests.token.test_token_endpoint import SERVICE, access_of, form, get_token
from tests.wsgi_client import WsgiClient

PUSH = "repository:qa/app:pull,push"


@pytest.fixture
def client():
    """The product's WSGI application, as gunicorn serves it (the short way that carries the cache)."""
    return WsgiClient()


def refresh(client, plain: str, scope: str = PUSH):
    return form(client, {"grant_type": "refresh_token", "refresh_token": plain, "service": SERVICE,
                         "client_id": "docker", "scope": scope})


def test_a_repeated_refresh_grant_reads_only_the_generation(client, owner, namespace, signing_files):
    plain = mint(client, owner)
    assert access_of(refresh(client, plain), signing_files) == {"qa/app": ["pull", "push"]}  # remembered now
    with CaptureQueriesContext(connection) as captured:
        response = refresh(client, plain)
    assert access_of(response, signing_files) == {"qa/app": ["pull", "push"]}
    assert _tables([q["sql"] for q in captured.captured_queries]) == {"realm_authorization_generation"}


def _revoke_service(owner, token):
    refresh_token_revoke(token=token, by=owner)


def _revoke_column(owner, token):
    RefreshToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())


def _raw_delete(owner, token):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_refreshtoken WHERE id = %s", [token.pk])


def _idle_too_long(owner, token):
    RefreshToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(days=40),
                                                    last_used_at=timezone.now() - timedelta(days=31))


def _password_changed(owner, token):
    User.objects.filter(pk=owner.pk).update(password=make_password("another-long-password"))


def _disabled(owner, token):
    User.objects.filter(pk=owner.pk).update(enabled=False)


def _minting_token_revoked(owner, token):
    application_token_revoke(token=ApplicationToken.objects.get(user=owner, application="laptop"), by=owner)


def _other_registry(owner, token):
    other = Registry.objects.create(name="other", hostname="other.test.lan:5000")
    RefreshToken.objects.filter(pk=token.pk).update(registry=other)


CHANGES = {
    "signed out (the service)": (_revoke_service, "password"),
    "revoked (column)": (_revoke_column, "password"),
    "deleted (raw SQL)": (_raw_delete, "password"),
    "idle too long (column)": (_idle_too_long, "password"),
    "password changed": (_password_changed, "password"),
    "account disabled": (_disabled, "token"),
    "minting application token revoked": (_minting_token_revoked, "token"),
    "bound to another registry": (_other_registry, "password"),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_every_change_is_seen_at_the_next_request(client, owner, namespace, signing_files, change):
    apply, minted_with = CHANGES[change]
    _, app_plain = application_token_create(user=owner, application="laptop", by=owner)
    plain = mint(client, owner, password=PASSWORD if minted_with == "password" else app_plain)
    for _ in range(2):  # the second answer comes from memory
        assert access_of(refresh(client, plain), signing_files) == {"qa/app": ["pull", "push"]}
    apply(owner, RefreshToken.objects.get(user=owner))
    response = refresh(client, plain)
    assert response.status_code == 401, response.content


def test_minting_and_use_keep_both_numbers_and_retiring_one_keeps_the_first(client, owner, namespace,
                                                                              monkeypatch):
    monkeypatch.setattr(services, "REFRESH_TOKENS_PER_USER", 2)
    first = mint(client, owner)
    before = generation.current_both()
    assert before is not None
    assert refresh(client, first).status_code == 200  # used: its last use is written
    second = mint(client, owner)
    assert generation.current_both() == before  # a new token and a use change nothing remembered

    mint(client, owner)  # past the limit of 2: the least recently used token goes
    after = generation.current_both()
    assert after[0] == before[0] and after[1] != before[1]
    assert {refresh(client, plain).status_code for plain in (first, second)} == {200, 401}


def test_retiring_a_refresh_token_leaves_the_other_remembered_answers(client, owner, namespace):
    _, app_plain = application_token_create(user=owner, application="ci", by=owner)
    assert get_token(client, user=owner, password=app_plain, scope=PUSH).status_code == 200  # remembered
    plain = mint(client, owner)
    refresh_token_revoke(token=RefreshToken.objects.get(user=owner), by=owner)
    with CaptureQueriesContext(connection) as captured:
        assert get_token(client, user=owner, password=app_plain, scope=PUSH).status_code == 200
    assert _tables([q["sql"] for q in captured.captured_queries]) == {"realm_authorization_generation"}
    assert refresh(client, plain).status_code == 401


def test_a_refresh_token_is_not_remembered_past_the_moment_it_would_end(client, owner, namespace, monkeypatch):
    plain = mint(client, owner)
    token = RefreshToken.objects.get(user=owner)
    RefreshToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(days=29, hours=23))
    assert refresh(client, plain).status_code == 200  # last used now: ends in 30 days
    RefreshToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(days=29, hours=23))
    assert refresh(client, plain).status_code == 200  # remembered, to end in an hour at the latest
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    monkeypatch.setattr("realm.decisions.time.time", lambda: later.timestamp())
    monkeypatch.setattr("realm.token.time.time", lambda: later.timestamp())
    assert refresh(client, plain).status_code == 401


def test_the_remembered_entry_ends_with_the_application_token_that_minted_it(client, owner, namespace):
    _, app_plain = application_token_create(user=owner, application="ci", by=owner,
                                            expires_at=timezone.now() + timedelta(minutes=5))
    plain = mint(client, owner, password=app_plain)
    assert refresh(client, plain).status_code == 200
    token = RefreshToken.objects.select_related("application_token").get(user=owner)
    assert abs((token.usable_until() - token.application_token.expires_at).total_seconds()) < 1


def test_hostile_refresh_tokens_leave_nothing_behind(client, owner, registry):
    decisions.forget_all()
    for value in ["", "x", "prt_" + "A" * 43, "prt_" + "é" * 60, "x" * 5000, "\x00" * 10]:
        assert refresh(client, value).status_code == 401
    assert len(decisions.credentials) == 0


def test_without_its_triggers_nothing_is_remembered(client, owner, namespace):
    plain = mint(client, owner)
    drop_a_trigger("accounts_refreshtoken")
    try:
        assert generation.current_both() is None
        assert refresh(client, plain).status_code == 200
        RefreshToken.objects.filter(user=owner).update(revoked_at=timezone.now())
        assert refresh(client, plain).status_code == 401
    finally:
        generation.install(connection)
