"""Two factors in a real browser (Debian's Chromium, driven by Playwright), against the running stack.

Tina sets up an authenticator app: the test reads the key the page shows, computes the codes itself
(RFC 6238, as her phone would), confirms, keeps the recovery codes, signs out and back in with a code;
then the registry refuses her password and takes an application token. Pia registers a passkey through
Chromium's virtual authenticator (DevTools protocol: WebAuthn.addVirtualAuthenticator, CTAP2, internal
transport, resident keys, user verification), signs in with it alone, no password typed, and then uses
it as the second step after her password.

The browser is on http://localhost: a WebAuthn relying party must be a domain, never an IP address, and
localhost counts as a secure context without TLS. Screenshots go to test-artifacts/screenshots/2fa-*.png.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import urlparse

import pyotp
import pytest
import requests

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, Browser, submit_sign_in
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")

PEOPLE_SCRIPT = """
from accounts.services import user_create
for name in ("tina", "pia"):
    user_create(username=name, email=name + "@example.org", password={password!r}, check_password=False)
"""


@pytest.fixture(scope="module")
def ui(stack):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("2fa-*.png"):
        old.unlink()
    stack.manage("shell", "-c", PEOPLE_SCRIPT.format(password=PASSWORD))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        state = Browser(stack=stack, browser=browser)
        state.facts["url"] = stack.web_url.replace("127.0.0.1", "localhost")
        try:
            yield state
        finally:
            browser.close()


def _path(page) -> str:
    return urlparse(page.url).path


def _sign_in_with_password(ui, page, username: str) -> None:
    submit_sign_in(page, ui.facts["url"], username, PASSWORD)


def _sign_out(page, username: str) -> None:
    page.locator("#portus-nav button.dropdown-toggle", has_text=username).click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def _fresh_code(totp: pyotp.TOTP, used: set[str]) -> str:
    """The app's current code, waiting for the next one if this one was spent (codes work once)."""
    for _ in range(70):
        code = totp.now()
        if code not in used:
            used.add(code)
            return code
        time.sleep(1)
    raise AssertionError("no new TOTP code within 70 s")


def _token_status(ui, username: str, secret: str) -> requests.Response:
    basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
    session = requests.Session()
    session.trust_env = False
    return session.get(f"{ui.stack.web_url}/v2/token", params={"service": ui.stack.registry.address,
                                                                   "scope": f"repository:{username}/app:pull,push"},
                       headers={"Authorization": f"Basic {basic}"}, timeout=30)


def test_01_set_up_an_authenticator_app_and_sign_in_with_it(ui):
    with ui.step("2fa-totp"):
        page = ui.open("tina")
        _sign_in_with_password(ui, page, "tina")
        assert _path(page) == "/", page.url
        page.goto(f"{ui.facts['url']}/users/edit")
        page.get_by_role("link", name="Two-factor sign-in and passkeys").click()
        page.wait_for_load_state()
        page.get_by_role("button", name="Set up an authenticator app").click()
        page.wait_for_load_state()
        assert page.locator(".portus-qr svg").count() == 1
        ui.shot(page, "2fa-01-authenticator-qr-code")
        secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
        totp, used = pyotp.TOTP(secret), set()
        page.fill("#id_code", _fresh_code(totp, used))
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state()
        codes = page.locator("[data-recovery-codes] li").all_inner_texts()
        assert len(codes) == 10, codes
        ui.shot(page, "2fa-02-recovery-codes")
        page.get_by_role("link", name="I have saved them").click()
        page.wait_for_load_state()
        assert "10 unused codes left" in page.locator("main").inner_text()

        _sign_out(page, "tina")
        _sign_in_with_password(ui, page, "tina")
        assert _path(page) == "/users/two_factor/verify", page.url
        ui.shot(page, "2fa-03-second-step")
        page.fill("#id_code", "000000" if totp.now() != "000000" else "111111")
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state()
        assert "That code is not right" in page.locator("main").inner_text()
        page.fill("#id_code", _fresh_code(totp, used))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state()
        assert _path(page) == "/", page.url
        assert "tina" in page.locator("#portus-nav").inner_text()
        ui.facts["tina"] = {"codes": codes}

        # The registry: the password is refused with a hint, an application token works.
        refused = _token_status(ui, "tina", PASSWORD)
        assert refused.status_code == 401 and "application token" in refused.json()["errors"][0]["message"]
        page.goto(f"{ui.facts['url']}/users/edit")
        page.fill("#id_application", "laptop docker")
        page.locator("form[action='/users/application_tokens'] button[type=submit]").click()
        page.wait_for_load_state()
        token = page.locator("#new-token").inner_text().strip()
        assert token.startswith("pat_"), token
        accepted = _token_status(ui, "tina", token)
        assert accepted.status_code == 200 and accepted.json()["token"], accepted.text


def test_02_register_a_passkey_and_sign_in_without_a_password(ui):
    with ui.step("2fa-passkey"):
        page = ui.open("pia")
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
        }})["authenticatorId"]
        _sign_in_with_password(ui, page, "pia")
        assert _path(page) == "/", page.url
        page.goto(f"{ui.facts['url']}/users/two_factor")
        page.fill("[data-passkey-name]", "Pia's laptop")
        page.get_by_role("button", name="Add a passkey").click()
        page.wait_for_url("**/users/two_factor/recovery_codes/new")
        assert len(page.locator("[data-recovery-codes] li").all_inner_texts()) == 10
        page.get_by_role("link", name="I have saved them").click()
        page.wait_for_load_state()
        assert "Pia's laptop" in page.locator("[data-passkey-list]").inner_text()
        ui.shot(page, "2fa-04-passkey-registered")
        stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        assert len(stored) == 1 and stored[0]["isResidentCredential"], stored

        _sign_out(page, "pia")
        assert _path(page) == "/users/sign_in"
        button = page.get_by_role("button", name="Sign in with a passkey")
        assert button.is_visible()
        ui.shot(page, "2fa-05-sign-in-page-with-passkey-button")
        button.click()
        page.wait_for_url(lambda url: urlparse(url).path == "/")
        nav = page.locator("#portus-nav").inner_text()
        assert "pia" in nav, nav
        ui.shot(page, "2fa-06-signed-in-with-a-passkey")
        page.goto(f"{ui.facts['url']}/users/two_factor")
        assert "used" in page.locator("[data-passkey-list]").inner_text()
        ui.shot(page, "2fa-07-passkey-last-used")
        # A password at the registry is refused for Pia too, now that she has a passkey.
        assert _token_status(ui, "pia", PASSWORD).status_code == 401


def test_03_the_passkey_as_the_second_step_after_the_password(ui):
    with ui.step("2fa-passkey-second-step"):
        page = ui.pages["pia"]
        _sign_out(page, "pia")
        _sign_in_with_password(ui, page, "pia")
        assert _path(page) == "/users/two_factor/verify", page.url
        ui.shot(page, "2fa-08-second-step-with-passkey")
        page.get_by_role("button", name="Use your passkey").click()
        page.wait_for_url(lambda url: urlparse(url).path == "/")
        assert "pia" in page.locator("#portus-nav").inner_text()
