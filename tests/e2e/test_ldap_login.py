"""Password logins against a real OpenLDAP (slapd started by the tests): the first login creates the
account, wrong passwords are refused, the options (bind_dn, filter, guess_email, admin_base, TLS) do
what the README says, and the credential cache is dropped when it must be."""

from __future__ import annotations

import pytest

from accounts import credentials
from accounts.models import User
from activities.models import Activity
from ldapauth.models import LdapAccount
from tests.e2e.support import slapd as seed

pytestmark = pytest.mark.django_db(transaction=False)


def login(username: str, password: str, address: str | None = "10.0.0.1"):
    return credentials.verify(username, password, address=address)


def test_first_login_creates_the_account(directory):
    assert not User.objects.filter(username="alice").exists()
    result = login("alice", "alice-pw")
    assert result.ok, result.failure
    user = User.objects.get(username="alice")
    assert result.user == user
    assert LdapAccount.objects.get(user=user).dn == seed.user_dn("alice").lower()
    assert user.personal_team.namespaces.exists()  # a personal namespace, as any account has
    assert Activity.objects.filter(key="user.ldap_create", target_id=user.pk).exists()
    # The second login finds the same account and creates nothing.
    assert login("alice", "alice-pw").user == user
    assert User.objects.filter(username="alice").count() == 1


def test_wrong_password_and_unknown_user_are_refused(directory):
    assert login("alice", "alice-pw").ok
    wrong = login("alice", "not-her-password")
    assert not wrong.ok and wrong.failure is credentials.Failure.INVALID
    nobody = login("nobody", "whatever")
    assert not nobody.ok and nobody.failure is credentials.Failure.INVALID
    assert not User.objects.filter(username="nobody").exists()
    assert User.objects.get(username="alice").failed_attempts == 1


def test_ldap_off_means_no_directory(directory, options):
    options.set("ldap.enabled", False)
    assert not login("alice", "alice-pw").ok
    assert not User.objects.filter(username="alice").exists()


@pytest.mark.parametrize("method", ["start_tls", "simple_tls"])
def test_tls_with_the_test_ca(directory, options, method):
    for dotted, value in directory.options(method).items():
        options.set(dotted, value)
    assert login("bob", "bob-pw").ok


@pytest.mark.parametrize("method", ["start_tls", "simple_tls"])
def test_tls_without_the_ca_is_refused(directory, options, method, tmp_path):
    for dotted, value in directory.options(method).items():
        options.set(dotted, value)
    other = tmp_path / "other-ca"
    from tests.e2e.support.tls import TestCA

    options.set("ldap.encryption.ca_file", str(TestCA(other, name="Another CA").cert))
    result = login("bob", "bob-pw")
    assert not result.ok
    assert not User.objects.filter(username="bob").exists()


def test_search_needs_the_bind_dn(directory, options):
    """The test server lets anonymous clients only bind: without the search account no user is found."""
    options.set("ldap.authentication.enabled", False)
    assert not login("alice", "alice-pw").ok
    options.set("ldap.authentication.enabled", True)
    options.set("ldap.authentication.password", "wrong")
    assert not login("alice", "alice-pw").ok
    options.set("ldap.authentication.password", seed.READER_PASSWORD)
    assert login("alice", "alice-pw").ok


def test_filter_limits_who_may_sign_in(directory, options):
    options.set("ldap.filter", "(mail=*)")
    assert login("alice", "alice-pw").ok  # has a mail
    assert not login("bob", "bob-pw").ok  # has none
    options.set("ldap.filter", f"memberOf={seed.group_dn('ops')}")  # no memberOf overlay: matches nobody
    assert not login("carol", "carol-pw").ok


def test_guess_email_from_an_attribute(directory, options):
    options.set("ldap.guess_email.enabled", True)
    options.set("ldap.guess_email.attr", "mail")
    login("alice", "alice-pw")
    assert User.objects.get(username="alice").email == "alice@corp.example"
    login("bob", "bob-pw")  # no mail attribute
    assert User.objects.get(username="bob").email is None


def test_guess_email_from_the_dn(directory, options):
    options.set("ldap.guess_email.enabled", True)
    login("bob", "bob-pw")
    assert User.objects.get(username="bob").email == "bob@example.org"


def test_guess_email_off(directory):
    login("alice", "alice-pw")
    assert User.objects.get(username="alice").email is None


def test_guessed_email_of_another_account_is_left_empty(directory, options):
    from accounts.services import user_create

    user_create(username="someone", email="alice@corp.example", password="local-password-1", check_password=False)
    options.set("ldap.guess_email.enabled", True)
    options.set("ldap.guess_email.attr", "mail")
    assert login("alice", "alice-pw").ok
    assert User.objects.get(username="alice").email is None


def test_admin_base_as_a_nested_group(directory, options, admin):
    options.set("ldap.admin_base", seed.group_dn("registry-admins"))
    login("carol", "carol-pw")
    login("dave", "dave-pw")  # through the nested group ops
    login("alice", "alice-pw")
    assert User.objects.get(username="carol").admin
    assert User.objects.get(username="dave").admin
    assert not User.objects.get(username="alice").admin
    assert Activity.objects.filter(key="user.ldap_admin_grant").count() == 2


def test_admin_base_as_a_subtree(directory, options, admin):
    options.set("ldap.admin_base", seed.PEOPLE)
    login("bob", "bob-pw")
    assert User.objects.get(username="bob").admin


def test_first_login_on_an_empty_instance_makes_the_admin(directory):
    assert not User.objects.exclude(username=User.INTERNAL_USERNAME).exists()
    login("erin", "erin-pw")
    login("frank", "frank-pw")
    assert User.objects.get(username="erin").admin
    assert not User.objects.get(username="frank").admin


def test_local_accounts_keep_their_password(directory, owner):
    """An account made in Portus (here olivia, and one named like a directory entry) signs in with its
    own password; the directory's user of that name is refused, not merged into it."""
    from accounts.services import user_create
    from tests.conftest import PASSWORD

    assert login(owner.username, PASSWORD).ok
    user_create(username="mallory", email=None, password="local-mallory-1", check_password=False)
    assert login("mallory", "local-mallory-1").ok
    refused = login("mallory", "mallory-pw")
    assert not refused.ok
    assert not LdapAccount.objects.filter(user__username="mallory").exists()


def test_disabled_account_is_refused_and_not_cached(directory, admin):
    from accounts.services import user_update

    user = login("alice", "alice-pw").user
    user_update(user=user, by=admin, enabled=False)
    result = login("alice", "alice-pw")
    assert result.failure is credentials.Failure.DISABLED
    user_update(user=User.objects.get(pk=user.pk), by=admin, enabled=True)
    assert login("alice", "alice-pw").ok


class TestCredentialCache:
    def test_repeat_is_answered_without_the_directory(self, directory, django_assert_max_num_queries):
        assert login("alice", "alice-pw").ok
        directory.process.popen.send_signal(19)  # SIGSTOP: the directory cannot answer now
        try:
            with django_assert_max_num_queries(1):  # the user row, as for an application token
                assert login("alice", "alice-pw").ok
        finally:
            directory.process.popen.send_signal(18)  # SIGCONT

    def test_off_means_a_bind_every_time(self, directory, options):
        options.set("ldap.credential_cache.seconds", 0)
        assert login("alice", "alice-pw").ok
        directory.set_password("alice", "alice-new-pw")
        try:
            assert not login("alice", "alice-pw").ok
        finally:
            directory.set_password("alice", "alice-pw")

    def test_dropped_after_a_failed_bind(self, directory):
        assert login("alice", "alice-pw").ok
        directory.set_password("alice", "alice-changed-pw")
        try:
            # Within the cache's time the old password is still remembered...
            assert login("alice", "alice-pw").ok
            # ...until a bind for the account fails: then the directory decides again.
            assert not login("alice", "a-wrong-guess").ok
            assert not login("alice", "alice-pw").ok
            assert login("alice", "alice-changed-pw").ok
        finally:
            directory.set_password("alice", "alice-pw")

    def test_a_new_password_replaces_the_old_one(self, directory):
        assert login("alice", "alice-pw").ok
        directory.set_password("alice", "alice-second-pw")
        try:
            assert login("alice", "alice-second-pw").ok  # a miss: bound with the new one
            assert not login("alice", "alice-pw").ok  # the old one is no longer remembered
        finally:
            directory.set_password("alice", "alice-pw")

    def test_locked_account_binds_no_more(self, directory, options):
        options.set("lockout.max_attempts", 2)
        assert login("alice", "alice-pw").ok
        login("alice", "wrong-1")
        locked = login("alice", "wrong-2")
        assert locked.failure is credentials.Failure.LOCKED
        assert login("alice", "alice-pw").failure is credentials.Failure.LOCKED


def test_another_spelling_is_the_same_account_and_the_same_lock(directory, options):
    options.set("lockout.max_attempts", 2)
    assert login("alice", "alice-pw").ok
    assert login("Alice", "alice-pw").user == User.objects.get(username="alice")
    login("ALICE", "wrong-1")
    login("aLiCe", "wrong-2")
    assert User.objects.get(username="alice").is_locked()
    assert login("Alice", "alice-pw").failure is credentials.Failure.LOCKED


def test_a_directory_that_cannot_be_asked_counts_against_nobody(directory, options):
    from ratelimits.services import failure_wait

    assert login("alice", "alice-pw").ok
    options.set("ldap.credential_cache.seconds", 0)
    options.set("ldap.port", directory.tls_port)  # LDAPS spoken to in plain LDAP: no answer
    options.set("ldap.timeout", 1)
    options.set("rate_limit.failures", 2)
    for _ in range(3):
        assert not login("alice", "alice-pw", address="10.9.9.9").ok
    assert User.objects.get(username="alice").failed_attempts == 0
    assert not failure_wait(address="10.9.9.9")
