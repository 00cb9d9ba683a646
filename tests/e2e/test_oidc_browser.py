"""Single sign-on in a real browser (Chromium, Playwright) against a real OpenID provider (oidc-provider,
its own login and consent pages): a person signs up by signing in, an allowed-domain refusal, no account
taken over by a matching email, an existing user links an identity from the profile page and then signs
in with it, and the docker CLI's way in for an account without a password. Screenshots in
test-artifacts/screenshots/oidc-*.png."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, Browser
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")


class ProviderBrowser(Browser):
    """The provider's development pages import a web font from Google: refused like everything off this
    machine, but not counted as the product's fault."""

    def _only_this_stack(self, route):
        if urlparse(route.request.url).hostname == "fonts.googleapis.com":
            route.abort()
            return
        super()._only_this_stack(route)


@pytest.fixture(scope="module")
def ui(oidc_stack):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("oidc-*.png"):
        old.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        state = ProviderBrowser(stack=oidc_stack.stack, browser=browser)
        state.facts["provider"] = oidc_stack.provider
        try:
            yield state
        finally:
            browser.close()


def at_provider(ui, page, login: str) -> None:
    """The provider's own pages: its sign-in form (any password), then its consent page."""
    issuer = ui.facts["provider"].issuer
    page.wait_for_url(f"{issuer}/**")
    assert page.locator("h1").inner_text().strip() == "Sign-in", page.content()[:500]
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything-the-dev-login-accepts")
    ui.shot(page, f"oidc-provider-login-{login}")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_load_state()
    if urlparse(page.url).netloc == urlparse(issuer).netloc:  # the consent page, on a first authorisation
        ui.shot(page, f"oidc-provider-consent-{login}")
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{ui.url}/**")
    page.wait_for_load_state()


def sso_button(page):
    return page.get_by_role("button", name="Sign in with Acme ID")


def test_the_sign_in_page_offers_the_provider(ui):
    with ui.step("sign-in-page"):
        page = ui.open("rosa")
        page.goto(f"{ui.url}/users/sign_in")
        assert sso_button(page).is_visible()
        assert page.locator("#id_password").is_visible()  # oauth.local_login.enabled stays true here
        ui.shot(page, "oidc-01-sign-in-page")


def test_a_person_signs_up_by_signing_in(ui):
    with ui.step("first-sign-in"):
        page = ui.pages["rosa"]
        sso_button(page).click()
        at_provider(ui, page, "rosa")
        assert urlparse(page.url).path == "/", page.url
        assert "Rosa Díaz" in page.locator("#portus-nav").inner_text()  # the display name from the provider
        ui.shot(page, "oidc-02-signed-in-as-rosa")
    with ui.step("profile-without-password"):
        page.goto(f"{ui.url}/users/edit")
        identities = page.locator("section[aria-labelledby=identities-heading]")
        assert "Acme ID: rosa (rosa@acme.test)" in " ".join(identities.inner_text().split())
        notice = page.locator("#portus-no-password")
        assert "no password" in notice.inner_text()
        assert notice.get_by_role("link", name="create an application token").get_attribute("href") == "#tokens-heading"
        assert identities.get_by_role("button", name="Unlink").count() == 0  # the only way in stays
        ui.shot(page, "oidc-03-profile-single-sign-on")


def test_docker_cli_of_an_account_without_password(ui, oidc_stack):
    """The password attempt is told to use an application token; the token from the profile page works."""
    stack = oidc_stack.stack
    s = requests.Session()
    s.trust_env = False
    refused = s.get(f"{stack.web_url}/v2/token", params={"service": stack.registry.address},
                    auth=("rosa", "rosa-has-no-password"), timeout=20)
    assert refused.status_code == 401
    assert "create an application token on your profile page" in refused.json()["errors"][0]["message"]
    with ui.step("application-token"):
        page = ui.pages["rosa"]
        page.goto(f"{ui.url}/users/edit")
        page.locator("form[action='/users/application_tokens'] input[name=application]").fill("laptop")
        page.locator("form[action='/users/application_tokens'] button[type=submit]").click()
        page.wait_for_load_state()
        ui.shot(page, "oidc-04-token-for-docker-login")
        secret = page.locator("#new-token").inner_text().strip()
    ok = s.get(f"{stack.web_url}/v2/token", params={"service": stack.registry.address},
               auth=("rosa", secret), timeout=20)
    assert ok.status_code == 200, ok.text


def test_a_provider_account_outside_the_allowed_domains_is_refused(ui):
    with ui.step("domain-refusal"):
        page = ui.open("mallory")
        page.goto(f"{ui.url}/users/sign_in")
        sso_button(page).click()
        at_provider(ui, page, "mallory")
        assert urlparse(page.url).path == "/users/sign_in"
        ui.expect_message(page, "Only accounts with a verified email address in acme.test, example.org may sign "
                                "in with Acme ID.")
        assert "Sign out" not in page.locator("body").inner_text()
        ui.shot(page, "oidc-05-domain-refused")


def test_a_matching_email_does_not_take_over_an_account(ui):
    """carl-at-acme carries carl@example.org, carl's address: no silent link, carl has to link it himself."""
    with ui.step("no-auto-link"):
        page = ui.open("carl-stranger")
        page.goto(f"{ui.url}/users/sign_in")
        sso_button(page).click()
        at_provider(ui, page, "carl-at-acme")
        assert urlparse(page.url).path == "/users/sign_in"
        ui.expect_message(page, "An account with the email address carl@example.org exists already.")
        ui.shot(page, "oidc-06-no-link-by-email")


def test_an_existing_user_links_an_identity_and_signs_in_with_it(ui):
    with ui.step("link"):
        page = ui.open("carl")
        ui.sign_in(page, {"username": "carl", "password": PASSWORD})
        page.goto(f"{ui.url}/users/edit")
        page.get_by_role("button", name="Link Acme ID").click()
        at_provider(ui, page, "carl-at-acme")
        assert urlparse(page.url).path == "/users/edit"
        ui.expect_message(page, "Your Acme ID identity is linked")
        identities = page.locator("section[aria-labelledby=identities-heading]").inner_text()
        assert "Acme ID: carl" in " ".join(identities.split())
        assert page.get_by_role("button", name="Unlink").count() == 1  # carl keeps his password
        ui.shot(page, "oidc-07-identity-linked")
    with ui.step("sign-in-with-linked"):
        page = ui.open("carl-again")
        page.goto(f"{ui.url}/users/sign_in")
        sso_button(page).click()
        at_provider(ui, page, "carl-at-acme")
        assert urlparse(page.url).path == "/"
        assert "carl" in page.locator("#portus-nav").inner_text()
        ui.shot(page, "oidc-08-signed-in-as-carl-by-provider")


def test_robot_trust_policies_page(ui, oidc_stack):
    with ui.step("trust-policies"):
        page = ui.open("admin")
        ui.sign_in(page, {"username": "admin", "password": PASSWORD})
        page.goto(f"{ui.url}/admin/users/{oidc_stack.robot_id}")
        page.get_by_role("link", name="keyless logins").click()
        page.wait_for_load_state()
        table = page.locator("#portus-trust-policies")
        assert 'repository == "acme/app" and ref == "refs/heads/main"' in table.inner_text()
        page.fill("#id_rules", 'sub =~ "*"')
        page.get_by_role("button", name="Add policy").click()
        page.wait_for_load_state()
        assert "would match tokens of anyone" in page.locator("main").inner_text()
        ui.shot(page, "oidc-09-trust-policy-refused-rule")
        page.fill("#id_rules", 'repository == "acme/app" and ref =~ "refs/tags/v*"')
        page.get_by_role("button", name="Add policy").click()
        page.wait_for_load_state()
        assert 'ref =~ "refs/tags/v*"' in page.locator("#portus-trust-policies").inner_text()
        ui.shot(page, "oidc-10-trust-policies")
