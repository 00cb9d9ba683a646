"""The token path's compiled queries (portus/prepared.py) answer what the ORM answers, one counted
statement each, and survive a new database connection (PostgreSQL prepares them again)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import credentials
from accounts.models import ApplicationToken
from accounts.services import application_token_create
from realm.authorization import _NAMESPACE_NAMED

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_token_lookup_is_the_orms_with_its_user_and_robot_namespace_loaded(owner):
    token, plain = application_token_create(user=owner, application="ci", by=owner)
    orm = (ApplicationToken.objects.usable().select_related(*ApplicationToken.FIND_RELATED)
           .filter(digest=ApplicationToken.hash_secret(plain)).first())
    with CaptureQueriesContext(connection) as queries:
        found = ApplicationToken.find(plain)
        assert _fields(found) == _fields(orm)
        assert _fields(found.user) == _fields(orm.user)
        assert found.user.robot_namespace is None
    assert len(queries.captured_queries) == 1


def test_expired_and_revoked_tokens_are_not_found_and_nothing_is_remembered(owner):
    token, plain = application_token_create(user=owner, application="ci", by=owner)
    assert ApplicationToken.find(plain) is not None
    ApplicationToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ApplicationToken.find(plain) is None
    ApplicationToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    assert ApplicationToken.find(plain) is not None
    ApplicationToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert ApplicationToken.find(plain) is None
    assert ApplicationToken.find("pat_" + "x" * 40) is None


@pytest.mark.parametrize("max_days", [0, 30])
def test_the_refresh_token_lookup_is_the_orms_in_every_state(owner, registry, options, max_days):
    from accounts.models import RefreshToken
    from accounts.services import application_token_revoke, refresh_token_create

    options.set("refresh_tokens.max_lifetime_days", max_days)
    app, app_plain = application_token_create(user=owner, application="ci", by=owner)
    now = timezone.now()
    states = {
        "fresh": {}, "idle": {"last_used_at": now - timedelta(days=400)},
        "old": {"created_at": now - timedelta(days=31), "last_used_at": now},
        "revoked": {"revoked_at": now}, "expired": {"expires_at": now - timedelta(seconds=1)},
    }
    plains = {}
    for name, changes in states.items():
        plain = refresh_token_create(user=owner, registry=registry, client_id=name, application_token=None)
        RefreshToken.objects.filter(client_id=name).update(**changes) if changes else None
        plains[name] = plain
    plains["by token"] = refresh_token_create(user=owner, registry=registry, client_id="t", application_token=app)
    application_token_revoke(token=app, by=owner)
    for name, plain in plains.items():
        orm = RefreshToken.objects.usable().filter(digest=RefreshToken.hash_secret(plain)).first()
        found = RefreshToken.find(plain)
        assert (found and found.pk) == (orm and orm.pk), name
    assert RefreshToken.find(plains["fresh"]) is not None and RefreshToken.find(plains["by token"]) is None
    assert (RefreshToken.find(plains["old"]) is None) == bool(max_days)


def test_the_user_lookup_carries_the_door_annotations(owner):
    found = credentials._USER_NAMED.get(username=owner.username)
    assert found.pk == owner.pk and found.password == owner.password
    assert found.twofactor_has_totp is False and found.twofactor_has_passkey is False
    assert credentials._USER_NAMED.get(username="nobody-by-this-name") is None


def test_the_namespace_lookup_loads_its_team(namespace, registry):
    found = _NAMESPACE_NAMED.get(registry=registry.pk, name=namespace.name)
    assert _fields(found) == _fields(namespace)
    with CaptureQueriesContext(connection) as queries:
        assert found.team.pk == namespace.team_id
    assert not queries.captured_queries
    assert _NAMESPACE_NAMED.get(registry=registry.pk + 1000, name=namespace.name) is None


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(owner):
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    assert ApplicationToken.find(plain).user_id == owner.pk
    prepared = getattr(connection, "_portus_prepared", None)
    if connection.vendor == "postgresql":
        assert prepared is not None and prepared[0] is connection.connection and prepared[1]
    connection.close()
    assert ApplicationToken.find(plain).user_id == owner.pk
    if connection.vendor == "postgresql":
        assert connection._portus_prepared[0] is connection.connection  # prepared again on the new one
        with connection.connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'portus_%%'")
            assert cursor.fetchone()[0] >= 1
    with CaptureQueriesContext(connection) as queries:  # logged: the statement itself, once
        assert ApplicationToken.find(plain).user_id == owner.pk
    assert len(queries.captured_queries) == 1 and queries.captured_queries[0]["sql"].startswith("SELECT")


@pytest.mark.django_db(transaction=True)
def test_nothing_is_prepared_behind_a_transaction_pooler(owner, monkeypatch):
    """DISABLE_SERVER_SIDE_CURSORS (DATABASE_DISABLE_SERVER_SIDE_CURSORS=1), as PgBouncer's transaction
    mode needs: a session's prepared statements would not be there on the next transaction."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    connection.close()
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    assert ApplicationToken.find(plain).user_id == owner.pk
    with connection.connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0
