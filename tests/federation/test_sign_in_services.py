"""Signing in, signing up and linking with a provider's identity: the account decisions of
federation/services.py and the admission checks of federation/profiles.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import User
from activities.models import Activity
from federation import services, usernames
from federation.models import ExternalIdentity
from federation.profiles import Profile, from_claims, refusal
from federation.providers import Provider
from portus.names import is_valid_component


def rosa(**changes) -> Profile:
    return Profile(**{"subject": "sub-rosa", "login": "rosa", "email": "rosa@acme.test", "email_verified": True,
                      "name": "Rosa Díaz", **changes})


@pytest.mark.parametrize(("raw", "expected"), [
    ("Zoë O'Brien", "zoe-o-brien"), ("rosa", "rosa"), ("--a..b__c--", "a-b-c"), ("日本", ""), ("A" * 80, "a" * 40),
])
def test_normalize(raw, expected):
    assert usernames.normalize(raw) == expected


@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_a_derived_name_is_always_valid(login, email, name):
    base = usernames.base_name(login=login, email=email, name=name)
    assert all(is_valid_component(c) and len(c) <= 64 for c in usernames.candidates(base))


def test_first_sign_in_creates_the_account(sso, registry):
    user = services.identity_sign_in(provider=sso, profile=rosa())
    assert (user.username, user.email, user.display_name) == ("rosa", "rosa@acme.test", "Rosa Díaz")
    assert not user.has_usable_password()
    assert ExternalIdentity.objects.get(user=user).subject == "sub-rosa"
    assert Activity.objects.filter(key="external_identity.sign_up", owner=user).exists()
    # The next sign-in finds the same account, whatever its login or email became at the provider.
    again = services.identity_sign_in(provider=sso, profile=rosa(login="rosa-renamed", email="r@acme.test"))
    assert again == user
    assert ExternalIdentity.objects.get(user=user).login == "rosa-renamed"


def test_names_that_are_taken_or_reserved_get_a_suffix(sso, registry, contributor):
    def name_for(subject: str, **claims) -> str:
        return services.identity_sign_in(provider=sso, profile=rosa(subject=subject, email="", **claims)).username

    assert name_for("1", login="carl") == "carl-2"
    assert name_for("2", login="carl") == "carl-3"
    assert name_for("3", login="Admin") == "admin-2"  # reserved
    assert name_for("4", login="", name="") == "user-2"  # nothing usable: "user", which is reserved too


def test_a_verified_email_of_an_existing_account_is_not_linked(sso, registry, contributor):
    with pytest.raises(services.Refused, match="exists already. Sign in to it"):
        services.identity_sign_in(provider=sso, profile=rosa(email="CARL@example.org"))
    assert not ExternalIdentity.objects.exists()


def test_an_unverified_email_neither_links_nor_is_kept(sso, registry, contributor):
    user = services.identity_sign_in(provider=sso, profile=rosa(email="carl@example.org", email_verified=False))
    assert user != contributor and user.email is None


def test_a_disabled_account_cannot_sign_in(sso, registry):
    user = services.identity_sign_in(provider=sso, profile=rosa())
    User.objects.filter(pk=user.pk).update(enabled=False)
    with pytest.raises(services.Refused, match="disabled"):
        services.identity_sign_in(provider=sso, profile=rosa())


def test_linking(sso, registry, contributor, viewer):
    identity = services.identity_link(user=contributor, provider=sso, profile=rosa(subject="carl-sub"))
    assert identity.user == contributor
    assert services.identity_sign_in(provider=sso, profile=rosa(subject="carl-sub")) == contributor
    with pytest.raises(services.Refused, match="belongs to another Portus account"):
        services.identity_link(user=viewer, provider=sso, profile=rosa(subject="carl-sub"))
    with pytest.raises(services.Refused, match="linked to another"):
        services.identity_link(user=contributor, provider=sso, profile=rosa(subject="other"))
    services.identity_unlink(identity=identity, by=contributor, label="Acme ID")  # carl keeps his password
    assert Activity.objects.filter(key="external_identity.unlink").count() == 1


def test_the_only_way_in_cannot_be_unlinked(sso, registry):
    user = services.identity_sign_in(provider=sso, profile=rosa())
    with pytest.raises(services.Refused, match="only way to sign in"):
        services.identity_unlink(identity=user.external_identities.get(), by=user, label="Acme ID")


def test_bots_cannot_link(sso, registry, bot):
    with pytest.raises(services.Refused):
        services.identity_link(user=bot, provider=sso, profile=rosa())


def _provider(**kwargs) -> Provider:
    return Provider("openid_connect", "Acme ID", "id", "secret", "openid", metadata_url="x", **kwargs)


@pytest.mark.parametrize(("provider", "profile", "refused"), [
    (_provider(domains=("acme.test",)), rosa(), None),
    (_provider(domains=("acme.test",)), rosa(email_verified=False), "verified email address in acme.test"),
    (_provider(domains=("acme.test",)), rosa(email="rosa@acme.test.evil"), "verified email address"),
    (_provider(domains=("acme.test",)), rosa(email="rosa@sub.acme.test"), "verified email address"),
    (_provider(group="acme"), rosa(groups=("acme",)), None),
    (_provider(group="acme"), rosa(groups=("acme/dev",)), "members of the group acme"),
    (_provider(group="acme"), rosa(groups=()), "members of the group acme"),
    (_provider(organization="acme"), rosa(groups=("acme",)), None),
    (_provider(organization="acme", team="ops"), rosa(groups=("acme",)), "team acme/ops"),
    (_provider(hosted_domain="acme.test"), rosa(hosted_domain="gmail.com"), "Google domain acme.test"),
])
def test_admission(provider, profile, refused):
    why = refusal(provider, profile)
    assert (why is None) if refused is None else (refused in why)


@given(st.dictionaries(st.sampled_from(["sub", "email", "email_verified", "preferred_username", "groups", "hd",
                                        "name"]),
                       st.one_of(st.text(max_size=300), st.integers(), st.booleans(), st.none(),
                                 st.lists(st.one_of(st.text(max_size=20), st.integers()), max_size=5),
                                 st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))))
@settings(max_examples=300, deadline=None)
def test_hostile_claims_give_a_profile_or_a_clear_error(claims):
    from federation.profiles import ProfileError

    try:
        profile = from_claims(_provider(group="acme"), claims)
    except ProfileError as exc:
        assert "sub" in str(exc)
    else:
        assert len(profile.subject) <= 255 and all(isinstance(g, str) for g in profile.groups)
        assert profile.email_verified in (True, False)
