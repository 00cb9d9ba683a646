"""The token endpoint's memory (realm/decisions.py) under the authorization generation (realm/generation.py):
a repeat costs one read, and every change to what an answer depends on is seen at the very next request."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import ApplicationToken, User
from accounts.services import application_token_create, application_token_revoke
from grants.services import grant_create
from namespaces.models import Namespace, Visibility
from realm import decisions, generation
from teams.models import Role, TeamMember
from tests.conftest import PASSWORD
from tests.token.test_token_endpoint import SERVICE, access_of, form, get_token
from tests.wsgi_client import WsgiClient

PUSH = "repository:qa/app:pull,push"


@pytest.fixture
def client():
    """The product's WSGI application, as gunicorn serves it (the short way that carries the cache)."""
    return WsgiClient()


def _tables(statements: list[str]) -> set[str]:
    return {name for sql in statements for name in re.findall(r'(?:FROM|JOIN|UPDATE|INTO)\s+"?(\w+)"?', sql)}


def _repeat_queries(client, **kwargs) -> list[str]:
    get_token(client, **kwargs)  # remembered now
    with CaptureQueriesContext(connection) as captured:
        response = get_token(client, **kwargs)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_repeated_application_token_request_reads_only_the_generation(client, owner, namespace):
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    statements = _repeat_queries(client, user=owner, password=plain, scope=PUSH)
    assert _tables(statements) == {"realm_authorization_generation"}, statements


def test_a_repeated_password_and_an_anonymous_request_read_only_the_generation(client, owner, namespace):
    assert _tables(_repeat_queries(client, user=owner, password=PASSWORD, scope=PUSH)) == {
        "realm_authorization_generation"}
    Namespace.objects.filter(pk=namespace.pk).update(visibility=Visibility.PUBLIC)
    assert _tables(_repeat_queries(client, scope="repository:qa/app:pull")) == {"realm_authorization_generation"}


def test_failures_are_never_remembered(client, owner, namespace):
    decisions.forget_all()
    for _ in range(3):
        assert get_token(client, user=owner, password="wrong", scope=PUSH).status_code == 401
    assert len(decisions.credentials) == 0


# Each change, made the way the product makes it or behind its back, and what the next answer must be.
def _revoke(owner, team, namespace, plain):
    application_token_revoke(token=ApplicationToken.objects.get(user=owner, application="ci"), by=owner)


def _expire_column(owner, team, namespace, plain):
    ApplicationToken.objects.filter(user=owner).update(expires_at=timezone.now() - timedelta(seconds=1))


def _disable(owner, team, namespace, plain):
    User.objects.filter(pk=owner.pk).update(enabled=False)


def _raw_disable(owner, team, namespace, plain):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET enabled = %s WHERE id = %s", [False, owner.pk])


def _demote(owner, team, namespace, plain):
    TeamMember.objects.filter(team=team, user=owner).update(role=Role.VIEWER)


def _remove(owner, team, namespace, plain):
    TeamMember.objects.filter(team=team, user=owner).delete()


def _move_namespace(owner, team, namespace, plain):
    from teams.services import team_create

    other = team_create(name="elsewhere", owner=User.objects.get(username="carl"))
    Namespace.objects.filter(pk=namespace.pk).update(team=other)


def _retire_namespace(owner, team, namespace, plain):
    Namespace.objects.filter(pk=namespace.pk).update(retired_at=timezone.now())


CHANGES = {
    "token revoked": (_revoke, "token", 401, None),
    "token expired (column)": (_expire_column, "token", 401, None),
    "account disabled (update)": (_disable, "token", 401, None),
    "account disabled (raw SQL)": (_raw_disable, "password", 401, None),
    "demoted to viewer": (_demote, "token", 200, ["pull"]),
    "removed from the team": (_remove, "password", 200, []),
    "namespace moved to another team": (_move_namespace, "token", 200, []),
    "namespace retired": (_retire_namespace, "password", 200, []),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_every_change_is_seen_at_the_next_request(client, owner, team, namespace, signing_files, change):
    apply, credential, status, actions = CHANGES[change]
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    secret = plain if credential == "token" else PASSWORD
    for _ in range(2):  # the second answer comes from memory
        assert access_of(get_token(client, user=owner, password=secret, scope=PUSH), signing_files) == {
            "qa/app": ["pull", "push"]}
    apply(owner, team, namespace, plain)
    response = get_token(client, user=owner, password=secret, scope=PUSH)
    assert response.status_code == status
    if actions is not None:
        assert access_of(response, signing_files).get("qa/app", []) == actions


def test_a_changed_password_is_seen_at_the_next_request(client, owner, namespace, signing_files):
    assert get_token(client, user=owner, password=PASSWORD, scope=PUSH).status_code == 200
    assert get_token(client, user=owner, password=PASSWORD, scope=PUSH).status_code == 200
    User.objects.filter(pk=owner.pk).update(password=make_password("another-long-password"))
    assert get_token(client, user=owner, password=PASSWORD, scope=PUSH).status_code == 401


def test_a_new_grant_and_a_new_second_factor_are_seen_at_the_next_request(client, owner, outsider, namespace,
                                                                          signing_files):
    assert access_of(get_token(client, user=outsider, password=PASSWORD, scope=PUSH), signing_files) == {}
    grant_create(namespace=namespace, pattern="app", permission="push", user=outsider, by=owner)
    assert access_of(get_token(client, user=outsider, password=PASSWORD, scope=PUSH), signing_files) == {
        "qa/app": ["pull", "push"]}
    from twofactor.models import Passkey

    Passkey.objects.create(user=outsider, name="key", credential_id=b"\x01" * 16, public_key=b"\x02" * 32)
    response = get_token(client, user=outsider, password=PASSWORD, scope=PUSH)
    assert response.status_code == 401 and "second factor" in response.json()["errors"][0]["message"]


def test_a_token_is_not_remembered_past_its_expiry(client, owner, namespace, monkeypatch):
    _, plain = application_token_create(user=owner, application="ci", by=owner,
                                        expires_at=timezone.now() + timedelta(hours=1))
    assert get_token(client, user=owner, password=plain, scope=PUSH).status_code == 200
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    monkeypatch.setattr("realm.decisions.time.time", lambda: later.timestamp())
    monkeypatch.setattr("realm.token.time.time", lambda: later.timestamp())
    assert get_token(client, user=owner, password=plain, scope=PUSH).status_code == 401


def test_harmless_writes_keep_the_number(owner, namespace):
    before = generation.current()
    User.objects.filter(pk=owner.pk).update(last_login=timezone.now(), failed_attempts=2)
    token, _ = application_token_create(user=owner, application="ci", by=owner)
    after_create = generation.current()
    assert after_create != before  # a new token is a change
    ApplicationToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now(), last_used_from="192.0.2.9")
    assert generation.current() == after_create


def _trigger_text(name: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
        else:
            cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = %s", [name])
        return cursor.fetchone()[0]


def test_every_watched_table_has_its_triggers_comparing_every_column_but_the_harmless(db):
    from django.apps import apps

    present = generation._present(connection)
    assert generation.wanted_names(connection) <= set(present)
    for label, harmless in generation.watched().items():
        model = apps.get_model(label)
        table = model._meta.db_table
        update = [n for n, (t, kind, _) in generation.expected().items() if t == table and kind == "u"]
        assert len(update) == 1, label
        text = _trigger_text(update[0])
        for field in model._meta.concrete_fields:
            compared = f"OLD.{connection.ops.quote_name(field.column)}" in text or f"old.{field.column}" in text
            assert compared == (field.name not in harmless), (label, field.name, text)


def drop_a_trigger(table: str) -> None:
    """Drops one of the generation's triggers on `table` (`generation.install` makes it again)."""
    name = next(n for n, t in generation._present(connection).items() if t == table)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER {name}")
        else:
            cursor.execute(f"DROP TRIGGER {name} ON {table}")
    generation.forget_check()


def test_without_its_triggers_nothing_is_remembered_and_answers_stay_right(client, owner, team, namespace,
                                                                         signing_files):
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    drop_a_trigger("accounts_user")
    try:
        assert generation.current() is None
        assert get_token(client, user=owner, password=plain, scope=PUSH).status_code == 200
        User.objects.filter(pk=owner.pk).update(enabled=False)  # no trigger saw this
        assert get_token(client, user=owner, password=plain, scope=PUSH).status_code == 401
    finally:
        generation.install(connection)
    assert generation.current() is not None


def test_the_tables_stay_bounded():
    table = decisions.Remembered(8)
    for n in range(100):
        table.put(("k", n), 1, float("inf"), n)
    assert len(table) == 8
    assert table.get(("k", 99), 1) == 99 and table.get(("k", 0), 1) is None
    assert table.get(("k", 99), 2) is None  # another generation: gone


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=st.text(max_size=200), secret=st.text(max_size=300))
def test_hostile_credentials_leave_nothing_behind(client, registry, username, secret):
    decisions.forget_all()
    response = client.get("/v2/token", {"service": "registry.test.lan:5000", "scope": PUSH},
                          HTTP_AUTHORIZATION="Basic " + base64.b64encode(
                              f"{username}:{secret}".encode("utf-8", "surrogatepass")).decode())
    assert response.status_code in (200, 401, 429)  # 429: the address ran out of failures
    assert len(decisions.credentials) == 0


def test_what_a_token_request_reads_is_all_watched(owner, contributor, viewer, outsider, bot, team, namespace,
                                                   admin, signing_files):
    """Every table the credential checks and the policy read on the token path is watched (or is the
    generation itself): a table read but not watched would let a remembered answer outlive a change."""
    client = WsgiClient()
    grant_create(namespace=namespace, pattern="app*", permission="push", user=outsider, by=owner)
    _, plain = application_token_create(user=contributor, application="ci", by=contributor)
    asks = [(owner, PASSWORD), (contributor, plain), (viewer, PASSWORD), (outsider, PASSWORD), (admin, PASSWORD),
            (bot, PASSWORD), (None, None)]
    scopes = [PUSH, "repository:qa/app:*", "repository:olivia/x:push", "repository:nowhere/x:pull",
              "registry:catalog:*", "repository:library/x:pull"]
    read = set()
    for user, secret in asks:
        for scope in scopes:
            decisions.forget_all()
            with CaptureQueriesContext(connection) as captured:
                get_token(client, user=user, password=secret, scope=scope)
            read |= _tables([q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(
                "SELECT")])
    for user, secret in [(owner, PASSWORD), (contributor, plain), (bot, PASSWORD)]:
        minted = get_token(client, user=user, password=secret, offline_token="true", client_id="docker")
        if minted.status_code != 200 or "refresh_token" not in minted.json():
            continue
        for scope in scopes:
            decisions.forget_all()
            with CaptureQueriesContext(connection) as captured:
                form(client, {"grant_type": "refresh_token", "refresh_token": minted.json()["refresh_token"],
                              "service": SERVICE, "client_id": "docker", "scope": scope})
            read |= _tables([q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(
                "SELECT")])
    tables = {table for table, *_ in generation.expected().values()}
    # Besides the generation and the look for its triggers: the address's failure budget, which only gates
    # a password check that is about to hash (a remembered success never reads it: accounts/credentials.py).
    unwatched = {"realm_authorization_generation", "sqlite_master", "pg_trigger", "pg_class",
                 "ratelimits_failurecounter"}
    assert read - tables <= unwatched, read - tables
    assert {"accounts_user", "accounts_applicationtoken", "namespaces_namespace", "teams_teammember",
            "grants_repositorygrant", "accounts_refreshtoken"} <= read


# --- any sequence of changes: the remembered answer is the fresh one -----------------------------------

STEPS = st.lists(st.tuples(st.sampled_from(["role", "remove", "add", "visibility", "grant", "ungrant", "disable",
                                            "enable", "revoke", "password", "sign_out"]),
                           st.sampled_from(["carl", "vera", "oscar"]),
                           st.sampled_from([Role.VIEWER, Role.CONTRIBUTOR, Role.OWNER])),
                 min_size=1, max_size=6)
SCOPES = ["repository:qa/app:pull,push", "repository:qa/other:pull", "repository:qa/app:*"]


def _step(kind: str, name: str, role: str, team, namespace, owner) -> None:
    user = User.objects.get(username=name)
    member = TeamMember.objects.filter(team=team, user=user).first()
    if kind == "role" and member:
        TeamMember.objects.filter(pk=member.pk).update(role=role)
    elif kind == "remove" and member:
        member.delete()
    elif kind == "add" and not member:
        TeamMember.objects.create(team=team, user=user, role=role)
    elif kind == "visibility":
        Namespace.objects.filter(pk=namespace.pk).update(
            visibility={Role.VIEWER: Visibility.PRIVATE, Role.CONTRIBUTOR: Visibility.PROTECTED}.get(
                role, Visibility.PUBLIC))
    elif kind == "grant":
        user.repository_grants.all().delete()
        grant_create(namespace=namespace, pattern="app", permission={Role.VIEWER: "pull"}.get(role, "push"),
                     user=user, by=owner)
    elif kind == "ungrant":
        from grants.models import RepositoryGrant

        RepositoryGrant.objects.filter(user=user).delete()
    elif kind in ("disable", "enable"):
        User.objects.filter(pk=user.pk).update(enabled=kind == "enable")
    elif kind == "revoke":
        ApplicationToken.objects.filter(user=user).update(revoked_at=timezone.now())
    elif kind == "password":
        User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD if role == Role.OWNER else "x" * 20))
    elif kind == "sign_out":
        from accounts.models import RefreshToken

        RefreshToken.objects.filter(user=user, **({} if role == Role.OWNER else {"application_token": None})).update(
            revoked_at=timezone.now())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_after_any_changes_a_remembered_answer_is_the_fresh_one(owner, contributor, viewer, outsider, team,
                                                                namespace, signing_files, options, steps):
    from django.db import transaction

    # The comparison asks every question twice: wrong passwords must not lock or limit between the two.
    options.set("rate_limit.enabled", False)
    options.set("lockout.max_attempts", 10**6)

    start = transaction.savepoint()  # each example from the fixtures' world
    try:
        _check_steps(steps, owner, (contributor, viewer, outsider), team, namespace, signing_files)
    finally:
        transaction.savepoint_rollback(start)


def _check_steps(steps, owner, users, team, namespace, signing_files) -> None:
    client = WsgiClient()
    secrets = {u.username: [PASSWORD, application_token_create(user=u, application="ci", by=u)[1]] for u in users}
    # Each user's signed-in clients: one minted with the password, one with the application token.
    refresh = {name: [get_token(client, user=User(username=name), password=secret, offline_token="true",
                                client_id="docker").json()["refresh_token"] for secret in credentials]
               for name, credentials in secrets.items()}

    def answers() -> list:
        out = []
        for name, credentials in secrets.items():
            for secret in credentials:
                for scope in SCOPES:
                    response = get_token(client, user=User(username=name), password=secret, scope=scope)
                    out.append((name, scope, response.status_code,
                                access_of(response, signing_files) if response.status_code == 200 else None))
            for plain in refresh[name]:
                for scope in SCOPES:
                    response = form(client, {"grant_type": "refresh_token", "refresh_token": plain,
                                             "service": SERVICE, "client_id": "docker", "scope": scope})
                    out.append((name, "refresh", scope, response.status_code,
                                access_of(response, signing_files) if response.status_code == 200 else None))
        return out

    answers()  # everything remembered
    for kind, name, role in steps:
        _step(kind, name, role, team, namespace, owner)
        remembered = answers()
        decisions.forget_all()
        assert remembered == answers(), (kind, name, role)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_renews_the_number_once_however_many_rows_it_changes(registry):
    """PostgreSQL: one new number per committed transaction, so a commit that changes many watched rows
    does not write the one row as many times (each write a version of it for the next to walk past)."""
    from django.db import transaction

    from accounts.services import user_create

    users = [user_create(username=f"bulk{n}", email=None, password=PASSWORD, check_password=False)
             for n in range(5)]
    postgresql = connection.vendor == "postgresql"

    def last() -> int:
        if not postgresql:  # SQLite writes a random number per row, in place: no versions pile up
            return generation.current()
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_value FROM realm_authorization_generation_seq")
            return cursor.fetchone()[0]

    before = last()
    with transaction.atomic():
        for user in users:
            User.objects.filter(pk=user.pk).update(admin=True)
        User.objects.filter(pk__in=[u.pk for u in users]).update(enabled=False)
    after = last()
    assert after != before
    if postgresql:
        assert after == before + 1
        assert generation.current() == after
