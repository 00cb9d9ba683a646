"""The token endpoint's read of the authorization generation, at most `token_realm.generation_max_age_ms`
apart in each process (realm/generation.py, `recent_both`): within the bound a request reuses the last
read, never past it, so a change counts at every request sent that long after it committed. The clock is
the module's own, set by each test: nothing here waits or depends on the machine's speed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import ApplicationToken
from accounts.services import application_token_create, application_token_revoke, user_update
from portus import config
from realm import generation
from teams.models import TeamMember
from teams.services import team_member_remove
from tests.config.test_config import folder  # noqa: F401
from tests.conftest import PASSWORD
from tests.token.test_token_endpoint import access_of, get_token
from tests.wsgi_client import WsgiClient

PUSH = "repository:qa/app:pull,push"
BOUND = 0.125
SHIPPED = yaml.safe_load((Path(config.BASE_DIR) / "config" / "config.yml").read_text())[
    "token_realm"]["generation_max_age_ms"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0  # so that `sent + bound - sent` is the bound itself, with no rounding at the edge

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(generation, "_clock", clock)
    generation.forget_recent()
    yield clock
    generation.forget_recent()


@pytest.fixture
def bounded(options):
    """The shipped bound, in seconds (the test settings read before every request)."""
    options.set("token_realm.generation_max_age_ms", SHIPPED)
    return SHIPPED / 1000


def _reads(call) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        value = call()
    return value, sum("realm_authorization_generation" in q["sql"] for q in captured.captured_queries)


def test_the_shipped_bound_is_a_tenth_of_a_second_and_the_option_is_bounded(folder):  # noqa: F811
    assert SHIPPED == 100
    assert config.load(folder, environ={})["token_realm"]["generation_max_age_ms"] == 100
    assert config.load(folder, environ={"PORTUS_TOKEN_REALM_GENERATION_MAX_AGE_MS": "0"})[
        "token_realm"]["generation_max_age_ms"] == 0
    for bad in ("-1", "1001", "86400000", "ten"):
        with pytest.raises(config.ConfigError, match=r"token_realm\.generation_max_age_ms"):
            config.load(folder, environ={"PORTUS_TOKEN_REALM_GENERATION_MAX_AGE_MS": bad})


@pytest.mark.django_db(transaction=True)
def test_a_read_is_reused_within_the_bound_and_never_at_it(registry, clock):
    sent = clock.now
    first, reads = _reads(lambda: generation.recent_both(BOUND))
    assert reads == 1 and first == generation.current_both()
    clock.now = sent + BOUND - 2 ** -10
    assert _reads(lambda: generation.recent_both(BOUND)) == (first, 0)
    _someone()  # a new account: a watched table changed
    changed = generation.current_both()
    assert changed != first
    assert _reads(lambda: generation.recent_both(BOUND)) == (first, 0)  # within the bound: the last read
    clock.now = sent + BOUND  # the bound, counted from the moment the last read was sent
    assert _reads(lambda: generation.recent_both(BOUND)) == (changed, 1)
    assert _reads(lambda: generation.recent_both(BOUND)) == (changed, 0)


def _someone():
    from accounts.services import user_create

    return user_create(username="someone", email=None, password="someone-password", check_password=False)


@pytest.mark.django_db(transaction=True)
def test_zero_and_an_atomic_block_read_every_time(registry, clock):
    assert _reads(lambda: generation.recent_both(0.1))[1] == 1
    assert _reads(lambda: generation.recent_both(0))[1] == 1
    with transaction.atomic():
        # Inside a transaction its own changes must count: never a read sent before they were made.
        _someone()
        value, reads = _reads(lambda: generation.recent_both(0.1))
        assert reads == 1 and value == generation.current_both()


@pytest.mark.django_db(transaction=True)
def test_an_earlier_read_never_replaces_a_later_one(registry, clock, monkeypatch):
    """Two threads' reads may finish out of order: the one sent last stays."""
    generation.recent_both(0.1)
    real = generation.current_both
    late = (clock.now + 5.0, (1, 1))

    def slow_read(conn=None):  # while this read is on the wire, a later one lands
        generation._recent.last = late
        return real(conn)

    clock.now += 1.0
    monkeypatch.setattr(generation, "current_both", slow_read)
    generation.recent_both(0.1)
    assert generation._recent.last == late


@pytest.mark.django_db(transaction=True)
def test_without_its_triggers_nothing_is_reused(registry, clock, monkeypatch):
    monkeypatch.setattr(generation, "triggers_ready", lambda conn: False)
    assert generation.recent_both(0.1) is None
    assert generation._recent.last is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["token revoked", "account disabled", "removed from the team"])
def test_a_token_request_sees_a_change_once_the_bound_has_passed(bounded, clock, admin, owner, contributor, team,
                                                                 namespace, signing_files, change):
    """Through the product's WSGI application: a change counts at the first request sent `bound` after it
    committed, and not necessarily before (the window the option states)."""
    client = WsgiClient()
    sent = clock.now  # the first request's read
    _, plain = application_token_create(user=contributor, application="ci", by=contributor)
    secret = plain if change == "token revoked" else PASSWORD
    for _ in range(2):  # the second answer comes from memory
        assert access_of(get_token(client, user=contributor, password=secret, scope=PUSH), signing_files) == {
            "qa/app": ["pull", "push"]}
    if change == "token revoked":
        application_token_revoke(token=ApplicationToken.objects.get(user=contributor), by=contributor)
    elif change == "account disabled":
        user_update(user=contributor, by=admin, enabled=False)
    else:
        team_member_remove(member=TeamMember.objects.get(team=team, user=contributor), by=owner)
    clock.now += bounded / 2
    within = get_token(client, user=contributor, password=secret, scope=PUSH)
    assert access_of(within, signing_files) == {"qa/app": ["pull", "push"]}  # the last read: as documented
    clock.now = sent + bounded
    after = get_token(client, user=contributor, password=secret, scope=PUSH)
    if change == "removed from the team":
        assert after.status_code == 200 and access_of(after, signing_files).get("qa/app", []) == []
    else:
        assert after.status_code == 401
