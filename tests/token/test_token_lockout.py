"""/v2/token under password guessing: lockout stops guesses, never an account; per-address 429s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import get_hashers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.services import application_token_create, user_create, user_update
from ratelimits.models import FailureCounter
from tests.conftest import PASSWORD
from tests.token.test_token_endpoint import SERVICE, URL, access_of, basic, form, get_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def hasher_runs(monkeypatch) -> list[str]:
    """One entry per password hasher run (real or dummy): what an answer's time is made of."""
    runs: list[str] = []
    for hasher in get_hashers():
        original = type(hasher).verify

        def counting(self, password, encoded, _original=original):
            runs.append(encoded[:8])
            return _original(self, password, encoded)

        monkeypatch.setattr(type(hasher), "verify", counting)
    return runs


@pytest.fixture
def passwordless_bot(team):
    from teams.models import Role
    from teams.services import team_member_add

    bot = user_create(username="deploy-bot", email=None, password=None, bot=True)
    team_member_add(team=team, user=bot, role=Role.CONTRIBUTOR, by=team.members.get(role=Role.OWNER).user)
    return bot


def login(client, username: str, password: str, **meta):
    return client.get(URL, {"service": SERVICE}, HTTP_AUTHORIZATION=basic(username, password), **meta)


def wrong_guesses(client, username: str, count: int, **meta) -> list[int]:
    return [login(client, username, f"guess-{i}", **meta).status_code for i in range(count)]


# --- finding: a stranger could switch bots off ---------------------------------------------------


def test_a_passwordless_bot_keeps_working_after_wrong_passwords_for_its_name(client, passwordless_bot, namespace,
                                                                             signing_files):
    _, plain = application_token_create(user=passwordless_bot, application="ci", by=passwordless_bot)
    assert wrong_guesses(client, "deploy-bot", 12) == [401] * 12
    passwordless_bot.refresh_from_db()
    assert not passwordless_bot.is_locked() and passwordless_bot.failed_attempts == 0
    response = get_token(client, user=passwordless_bot, password=plain, scope="repository:qa/app:pull,push")
    assert access_of(response, signing_files) == {"qa/app": ["pull", "push"]}


def test_a_locked_account_still_logs_in_with_its_application_token(client, bot, namespace, signing_files):
    """The lock stops password guessing; an application token cannot be guessed."""
    _, plain = application_token_create(user=bot, application="ci", by=bot)
    assert wrong_guesses(client, "ci-bot", 10) == [401] * 10
    bot.refresh_from_db()
    assert bot.is_locked()
    assert get_token(client, user=bot).status_code == 401  # its password is refused while locked
    response = get_token(client, user=bot, password=plain, scope="repository:qa/app:pull")
    assert access_of(response, signing_files) == {"qa/app": ["pull"]}


def test_token_logins_do_not_reset_the_password_failures(client, owner):
    """Otherwise a CI's token logins would wipe a guesser's count before it reaches the lock."""
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    wrong_guesses(client, "olivia", 3)
    assert get_token(client, user=owner, password=plain).status_code == 200
    owner.refresh_from_db()
    assert owner.failed_attempts == 3


# --- per-address rate limit ----------------------------------------------------------------------


@pytest.fixture
def small_budget(options):
    options.set("rate_limit.failures", 3)
    options.set("lockout.max_attempts", 100)


def assert_too_many(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert "Too many failed attempts" in response.json()["errors"][0]["message"]
    assert 1 <= int(response["Retry-After"]) <= 2 * 600


def test_an_address_over_its_budget_gets_429_without_a_password_check(client, owner, small_budget, hasher_runs):
    assert wrong_guesses(client, "olivia", 3) == [401] * 3
    hasher_runs.clear()
    assert_too_many(get_token(client, user=owner, password="another-guess"))
    assert_too_many(get_token(client, user=owner))  # even the right password: no oracle past the budget
    assert_too_many(form(client, {"grant_type": "password", "username": "olivia", "password": PASSWORD,
                                  "service": SERVICE}))
    assert hasher_runs == []


def test_failures_of_every_name_count_against_the_address(client, owner, small_budget):
    for name in ("olivia", "nobody", "x" * 200):
        wrong_guesses(client, name, 1)
    assert_too_many(get_token(client, user=owner, password="wrong"))


def test_another_address_is_not_limited(client, owner, small_budget):
    wrong_guesses(client, "olivia", 3, REMOTE_ADDR="203.0.113.9")
    assert_too_many(login(client, "olivia", PASSWORD, REMOTE_ADDR="203.0.113.9"))
    assert login(client, "olivia", PASSWORD, REMOTE_ADDR="198.51.100.1").status_code == 200


def test_a_forged_forwarded_header_does_not_escape_the_limit(client, owner, small_budget):
    for i in range(3):
        wrong_guesses(client, "olivia", 1, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert_too_many(login(client, "olivia", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99"))


def test_application_tokens_still_work_from_a_limited_address(client, owner, small_budget, namespace, signing_files):
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    wrong_guesses(client, "olivia", 3)
    response = get_token(client, user=owner, password=plain, scope="repository:qa/app:pull")
    assert access_of(response, signing_files) == {"qa/app": ["pull"]}


def test_the_limit_lives_in_the_database(client, owner, small_budget):
    """What one worker counted, another refuses: the count is a row, not process memory."""
    from django.core.cache import cache

    wrong_guesses(client, "olivia", 3)
    assert sum(FailureCounter.objects.filter(address="127.0.0.1").values_list("count", flat=True)) == 3
    cache.clear()
    assert_too_many(get_token(client, user=owner))
    FailureCounter.objects.all().delete()  # as an expired window would be
    assert get_token(client, user=owner).status_code == 200


def test_successful_logins_never_touch_the_counters(client, owner, namespace):
    """The hot path: a token login adds no query; a password login reads the counter once on a miss."""
    _, plain = application_token_create(user=owner, application="ci", by=owner)
    get_token(client, user=owner, password=plain)  # warm: last_used_at, registry cache
    get_token(client, user=owner)  # warm: the password cache
    with CaptureQueriesContext(connection) as by_token:
        assert get_token(client, user=owner, password=plain, scope="repository:qa/app:pull").status_code == 200
    with CaptureQueriesContext(connection) as by_cached_password:
        assert get_token(client, user=owner, scope="repository:qa/app:pull").status_code == 200
    for captured in (by_token, by_cached_password):
        assert not [q for q in captured.captured_queries if "ratelimits_" in q["sql"]]
    # The authorization generation, then (the scope was not asked before, the credential was) the namespace
    # and the user's teams (realm/decisions.py). Inside a test's transaction PostgreSQL is first told to
    # count the transaction's own changes (realm/generation.py): not a query of the product's hot path.
    for captured in (by_token, by_cached_password):
        queries = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET CONSTRAINTS")]
        assert len(queries) == 3, queries
        assert "realm_authorization_generation" in queries[0]
    with CaptureQueriesContext(connection) as failed:
        get_token(client, user=owner, password="wrong")
    assert len([q for q in failed.captured_queries if "ratelimits_" in q["sql"]]) <= 4


# --- finding: guessing gaps ----------------------------------------------------------------------


def test_a_disabled_account_counts_failures_and_stops_saying_disabled_once_locked(client, owner, admin, options):
    options.set("rate_limit.failures", 1000)
    user_update(user=owner, by=admin, enabled=False)
    assert wrong_guesses(client, "olivia", 10) == [401] * 10
    owner.refresh_from_db()
    assert owner.is_locked()
    message = get_token(client, user=owner).json()["errors"][0]["message"]
    assert "disabled" not in message and "locked" in message


@pytest.mark.parametrize("case", ["unknown", "wrong password", "locked", "disabled", "no password"])
def test_every_refusal_costs_exactly_one_hasher_run(client, owner, admin, passwordless_bot, hasher_runs, case):
    """Timing would tell which names exist or are locked if some answers skipped the hash."""
    username, password = "olivia", "wrong"
    if case == "unknown":
        username = "nobody"
    elif case == "locked":
        User.objects.filter(pk=owner.pk).update(locked_until=timezone.now() + timedelta(minutes=5))
        password = PASSWORD
    elif case == "disabled":
        user_update(user=owner, by=admin, enabled=False)
    elif case == "no password":
        username = "deploy-bot"
    hasher_runs.clear()
    response = client.get(URL, {"service": SERVICE}, HTTP_AUTHORIZATION=basic(username, password))
    assert response.status_code == 401
    assert len(hasher_runs) == 1
