"""The add-member field's suggestions in a real browser: typed in any case, a display name too."""

from __future__ import annotations

import shutil

import pytest
from django.test import Client

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, SCREENSHOTS

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed")]


def test_typing_a_name_in_capitals_suggests_the_user(live_server, owner, team, outsider):
    from playwright.sync_api import sync_playwright

    outsider.display_name = "Oscar Wilde"
    outsider.save()
    client = Client()
    client.force_login(owner, backend="accounts.backends.PortusBackend")
    session = client.cookies["sessionid"].value
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=DESKTOP)
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/teams/{team.pk}")
            field = page.get_by_label("Add a user")
            for typed in ("OSC", "wILDe"):
                field.fill("")
                field.press_sequentially(typed, delay=20)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('#member-suggestions option')].some(o => o.value === 'oscar')",
                    timeout=10_000)
            label = page.eval_on_selector("#member-suggestions option", "o => o.label")
            assert label == "Oscar Wilde"
            field.fill("Oscar")
            page.get_by_role("button", name="Add").click()
            page.wait_for_load_state()
            assert "oscar joined qa" in page.content()
            page.screenshot(path=str(SCREENSHOTS / "team-member-added-case-insensitive.png"))
        finally:
            browser.close()
