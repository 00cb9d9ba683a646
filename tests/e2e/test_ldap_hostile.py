"""Hostile user names at the LDAP door: filter metacharacters, NUL, control characters and long names
are escaped or refused, never a match for someone else's entry, never an error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import credentials
from accounts.models import User
from ldapauth import directory as ldap_directory
from ldapauth.models import LdapAccount

pytestmark = pytest.mark.django_db

INJECTIONS = [
    "*", "a*", "*)(uid=*", "alice)(uid=*", "alice)(|(uid=*", "*)(|(objectClass=*", "\\", "alice\\", "(alice)",
    "alice\x00", "\x00", "alice\x00bob", "al\nice", "alice" + "x" * 200, "x" * 10_000, "ALICE*",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_filter_injection_finds_nobody(directory, name):
    """Each name with alice's password (and with "*"): refused, no account made."""
    for password in ("alice-pw", "*"):
        result = credentials.verify(name, password, address="10.0.0.9")
        assert not result.ok
        assert result.failure in (credentials.Failure.INVALID, credentials.Failure.RATE_LIMITED)
    assert not LdapAccount.objects.exists()
    assert not User.objects.exclude(username=User.INTERNAL_USERNAME).exclude(username="admin").exists()


def test_the_filter_escapes_what_it_is_given(directory):
    """The search itself, asked with a wildcard: the escaped value matches no entry, the raw one would."""
    conn = ldap_directory.service_connection()
    try:
        escaped = ldap_directory.equality_filter("uid", "*")
        assert escaped == "(uid=\\2a)"
        assert ldap_directory.search(conn, directory.options()["ldap.base"], escaped, ["uid"]) == []
        assert len(ldap_directory.search(conn, directory.options()["ldap.base"], "(uid=*)", ["uid"])) > 1
    finally:
        conn.unbind_s()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.sampled_from("ab*()\\\x00 =|&!~<>,+\"#;é\n"), min_size=1, max_size=40),
       password=st.text(max_size=40))
def test_any_name_any_password_no_error_no_account(directory, name, password):
    result = credentials.verify(name, password, address=None)
    assert not result.ok
    assert not LdapAccount.objects.exists()


def test_empty_password_is_no_anonymous_bind(directory):
    assert not credentials.verify("alice", "", address=None).ok
    assert not LdapAccount.objects.exists()


@pytest.mark.parametrize("ldap_on", [True, False])
@pytest.mark.parametrize("name", ["alice\x00", "\x00", "*)(uid=*", "a" * 151])
def test_token_endpoint_answers_401(client, directory, options, ldap_on, name):
    """Over HTTP too (NUL is an error in a PostgreSQL query, so it must never reach one)."""
    from tests.token.test_token_endpoint import SERVICE, URL, basic

    options.set("ldap.enabled", ldap_on)
    response = client.get(URL, {"service": SERVICE, "scope": "repository:alice/app:pull"},
                          HTTP_AUTHORIZATION=basic(name, "alice-pw"))
    assert response.status_code == 401
