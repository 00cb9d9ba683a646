"""The web UI in a real browser (Chromium driven by Playwright), as people would use it on a new instance.

One scenario, one step per test, on the `empty_stack` (an empty database, its registry running but not yet
added): the first visitor signs up and becomes the administrator, adds the registry, creates a member, a
team and a namespace; the member pushes with skopeo and the tag shows up on the repository page; stars and
comments (one of them hostile); the administrator deletes the tag through its confirmation page; then the
same pages at phone width and in the dark theme.

The steps share one browser. A failing step saves `FAILED-<step>-<page>.png` and names it in the error;
the steps after it are skipped (failures where end-to-end tests are required). Every step and page is saved
under test-artifacts/screenshots/ at the repository root.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.browser import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    MEMBER,
    NAMESPACE,
    PHONE,
    REPOSITORY,
    SCREENSHOTS,
    TAG_VISIBLE_WITHIN,
    TEAM,
    XSS_COMMENT,
    Browser,
    human_size,
)
from tests.e2e.support.containers import skopeo
from tests.e2e.support.services import free_port

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")


@pytest.fixture(scope="module")
def ui(empty_stack):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in [*SCREENSHOTS.glob("[0-9][0-9]-*.png"), *SCREENSHOTS.glob("FAILED-*.png")]:
        old.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        state = Browser(stack=empty_stack, browser=browser)
        try:
            yield state
        finally:
            total = sum(state.timings.values())
            print(f"\nbrowser steps: {', '.join(f'{k} {v:.1f} s' for k, v in state.timings.items())}; "
                  f"total {total:.1f} s; tags on the page {state.facts.get('push_to_page_seconds', -1):.1f} s "
                  f"after the push; {len(state.shots)} screenshots in {SCREENSHOTS}")
            browser.close()


# --- the scenario ---------------------------------------------------------------------------------------


def test_01_first_visitor_signs_up_and_becomes_admin(ui):
    with ui.step("01-sign-up"):
        page = ui.open("admin")
        page.goto(ui.url + "/")
        # Anonymous browsing is on by default, so the front page is Explore; the person signs up from there.
        if urlparse(page.url).path == "/explore":
            ui.shot(page, "01-first-visit-explore")
            page.locator("#portus-nav").get_by_role("link", name="Sign up").click()
            page.wait_for_load_state()
        assert urlparse(page.url).path == "/users/sign_up", page.url
        first = page.locator("main .alert-info")
        assert "first account" in first.inner_text() and "administrator" in first.inner_text()
        page.fill("#id_username", ADMIN["username"])
        page.fill("#id_email", ADMIN["email"])
        page.fill("#id_password", ADMIN["password"])
        page.fill("#id_password_confirm", ADMIN["password"])
        ui.shot(page, "01-sign-up-first-visitor")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_load_state()
        # The first user is an administrator and is asked to add the registry next.
        assert urlparse(page.url).path == "/admin/registries/new", page.url
        ui.expect_message(page, "first user, and so an administrator")
        assert page.locator("#portus-nav").get_by_text("Admin").count() == 1
        ui.shot(page, "01-signed-up-as-admin-add-registry-next")


def test_02_admin_adds_the_registry(ui):
    with ui.step("02-add-registry"):
        page = ui.pages["admin"]
        ui.admin_menu(page, "Registries")
        assert urlparse(page.url).path == "/admin/registries"
        assert "No registry yet" in page.locator("main").inner_text()
        ui.shot(page, "02-registries-none-yet")
        page.get_by_role("link", name="Add a registry").click()
        page.wait_for_load_state()
        assert page.locator("#id_save_anyway").count() == 0, "the 'save anyway' box shows before any check"

        # A wrong port first: the check fails, says why, and offers to save anyway.
        address = ui.stack.registry.address
        page.fill("#id_name", "main")
        page.fill("#id_hostname", f"127.0.0.1:{free_port()}")
        page.uncheck("#id_use_ssl")
        page.get_by_role("button", name="Add", exact=True).click()
        page.wait_for_load_state()
        assert urlparse(page.url).path == "/admin/registries/new"
        assert page.locator("#id_hostname_error").is_visible(), "no error for an unreachable registry"
        assert page.locator("#id_save_anyway").is_visible(), "no 'save anyway' box after a failed check"
        assert not page.locator("#id_save_anyway").is_checked()
        ui.shot(page, "02-add-registry-unreachable-save-anyway-offered")

        # The right address: the reachability check passes, no need to save anyway.
        page.fill("#id_hostname", address)
        assert not page.locator("#id_use_ssl").is_checked()
        page.get_by_role("button", name="Add", exact=True).click()
        page.wait_for_load_state()
        assert urlparse(page.url).path == "/admin/registries", page.url
        ui.expect_message(page, "Registry main added.")
        row = page.locator("main table tbody tr")
        assert row.count() == 1
        assert address in row.inner_text()
        ui.shot(page, "02-registry-added")

        ui.admin_menu(page, "Status")
        card = page.locator("section[aria-labelledby=registries-heading] .border", has_text=address)
        assert card.locator(".badge").inner_text().strip() == "reachable", card.inner_text()
        ui.shot(page, "02-admin-status-registry-reachable")


def test_03_admin_creates_member_team_and_namespace(ui):
    with ui.step("03-member-team-namespace"):
        page = ui.pages["admin"]
        ui.admin_menu(page, "Users")
        page.get_by_role("link", name="New user or bot").click()
        page.wait_for_load_state()
        page.fill("#id_username", MEMBER["username"])
        page.fill("#id_email", MEMBER["email"])
        page.fill("#id_password", MEMBER["password"])
        page.fill("#id_password_confirm", MEMBER["password"])
        ui.shot(page, "03-admin-new-user-form")
        page.get_by_role("button", name="Create", exact=True).click()
        page.wait_for_load_state()
        ui.expect_message(page, f"User {MEMBER['username']} created.")
        ui.shot(page, "03-admin-user-created")

        ui.nav(page, "Teams")
        page.locator("main").get_by_role("link", name="New team").first.click()
        page.wait_for_load_state()
        page.fill("#id_name", TEAM)
        page.fill("#id_description", "The people who run the **shop**.")
        page.get_by_role("button", name="Create team").click()
        page.wait_for_load_state()
        assert re.fullmatch(r"/teams/\d+", urlparse(page.url).path), page.url
        ui.facts["team_url"] = page.url
        ui.expect_message(page, f"Team {TEAM} created")
        assert page.locator("main .markdown-body strong").inner_text() == "shop"

        # The add-member form: the user by name, the role from the list.
        form = page.locator("form[data-typeahead]")
        form.locator("#id_username").fill(MEMBER["username"])
        form.locator("#id_role").select_option("contributor")
        form.get_by_role("button", name="Add", exact=True).click()
        page.wait_for_load_state()
        ui.expect_message(page, f"{MEMBER['username']} joined {TEAM} as contributor")
        member_row = page.locator("main .list-group-item", has_text=MEMBER["username"])
        assert member_row.locator("select[name=role]").input_value() == "contributor"
        ui.shot(page, "03-team-with-contributor")

        page.get_by_role("link", name="New namespace").click()
        page.wait_for_load_state()
        page.fill("#id_name", NAMESPACE)
        assert page.locator("#id_team option:checked").inner_text().strip() == TEAM
        page.fill("#id_description", "Images of the shop.")
        page.get_by_role("button", name="Create namespace").click()
        page.wait_for_load_state()
        assert re.fullmatch(r"/namespaces/\d+", urlparse(page.url).path), page.url
        ui.facts["namespace_url"] = page.url
        ui.expect_message(page, f"Namespace {NAMESPACE} created.")
        assert page.locator("main").get_by_role("link", name=TEAM).count() == 1
        assert "No repositories yet." in page.locator("main").inner_text()
        ui.shot(page, "03-namespace-created")


def test_04_member_pushes_and_the_tags_show_up(ui, images):
    with ui.step("04-push"):
        registry = ui.stack.registry
        v1, v2 = images.single(tag="v1"), images.single(tag="v2")
        ui.facts["images"] = {"v1": v1, "v2": v2}
        creds = f"{MEMBER['username']}:{MEMBER['password']}"
        for tag, image in (("v1", v1), ("v2", v2)):
            target = registry.ref(f"{NAMESPACE}/{REPOSITORY}", tag)
            skopeo("copy", "--dest-creds", creds, image.ref(), f"docker://{target}")
        pushed = time.monotonic()

        # Reload, as a person would, until the repository is listed in the namespace, then until both tags
        # are on its page.
        page = ui.pages["admin"]
        page.goto(ui.facts["namespace_url"])
        link = page.locator("main table").get_by_role("link", name=REPOSITORY, exact=True)
        while link.count() == 0:
            assert time.monotonic() - pushed < TAG_VISIBLE_WITHIN, \
                f"{NAMESPACE}/{REPOSITORY} not listed {TAG_VISIBLE_WITHIN:g} s after the push"
            time.sleep(0.25)
            page.reload()
        link.click()
        page.wait_for_load_state()
        ui.facts["repository_url"] = page.url
        while page.locator("main .portus-tag-name").count() < 2:
            assert time.monotonic() - pushed < TAG_VISIBLE_WITHIN, \
                f"v1 and v2 not both on {page.url} {TAG_VISIBLE_WITHIN:g} s after the push"
            time.sleep(0.25)
            page.reload()
        ui.facts["push_to_page_seconds"] = time.monotonic() - pushed

        for tag, image in (("v1", v1), ("v2", v2)):
            card = page.locator("main .card", has=page.locator(".portus-tag-name", has_text=re.compile(f"^{tag}$")))
            header = card.locator(".card-header")
            short = image.digest[: len("sha256:") + 12]
            assert header.locator("code").first.inner_text() == short, header.inner_text()
            assert header.locator("code").first.get_attribute("title") == image.digest
            assert human_size(image.size) in header.inner_text(), (human_size(image.size), header.inner_text())
            assert f"by {MEMBER['username']}" in card.inner_text()
            assert f"docker pull {registry.address}/{NAMESPACE}/{REPOSITORY}:{tag}" in card.inner_text()
        ui.shot(page, "04-repository-tags-after-push")


def test_05_member_stars_and_comments_and_hostile_markdown_is_inert(ui):
    with ui.step("05-star-comment"):
        page = ui.open("member")
        ui.sign_in(page, MEMBER)
        ui.shot(page, "05-member-dashboard")
        ui.nav(page, "Repositories")
        page.locator("main").get_by_role("link", name=REPOSITORY).first.click()
        page.wait_for_load_state()
        assert page.url == ui.facts["repository_url"], page.url

        star = page.locator("main form[action$='/toggle_star'] button")
        assert star.get_attribute("aria-pressed") == "false" and "Star" in star.inner_text()
        star.click()
        page.wait_for_load_state()
        star = page.locator("main form[action$='/toggle_star'] button")
        assert star.get_attribute("aria-pressed") == "true", star.inner_text()
        assert "Starred" in star.inner_text() and star.locator(".badge").inner_text().strip() == "1"

        page.fill("#id_body", "Release **notes**: use `v2`.\n\n- faster\n- smaller")
        page.get_by_role("button", name="Comment", exact=True).click()
        page.wait_for_load_state()
        first = page.locator("#comments article").last
        body = first.locator(".markdown-body")
        assert body.locator("strong").inner_text() == "notes"
        assert body.locator("code").inner_text() == "v2"
        assert body.locator("li").count() == 2

        page.fill("#id_body", XSS_COMMENT)
        page.get_by_role("button", name="Comment", exact=True).click()
        page.wait_for_load_state()
        assert page.locator("#comments article").count() == 2
        ui.shot(page, "05-member-starred-and-commented")

        # The hostile comment is inert for whoever reads it: its author, and the administrator.
        admin = ui.pages["admin"]
        admin.goto(ui.facts["repository_url"])  # a new load: a hash-only change would not fetch the page
        assert admin.locator("#comments article").count() == 2
        for reader in (page, admin):
            hostile = reader.locator("#comments article").last.locator(".markdown-body")
            reader.wait_for_timeout(500)  # time for a failing <img> to fire its onerror, were it kept
            assert reader.evaluate("typeof window.__xss") == "undefined", reader.evaluate("window.__xss")
            assert hostile.locator("script").count() == 0, hostile.inner_html()
            assert reader.locator("#comments [onerror], #comments [onload], #comments [onclick]").count() == 0, \
                hostile.inner_html()
            hrefs = hostile.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href') || '')")
            assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], hostile.inner_html()
            assert "Try this:" in hostile.inner_text()
        ui.facts["hostile_comment_html"] = hostile.inner_html()
        ui.shot(admin, "05-admin-reads-comments-hostile-one-inert")


def test_06_admin_deletes_a_tag_through_the_confirmation_page(ui):
    with ui.step("06-delete-tag"):
        page = ui.pages["admin"]
        images = ui.facts["images"]
        page.goto(ui.facts["repository_url"])
        v1_name = page.locator(".portus-tag-name", has_text=re.compile("^v1$"))
        v1_item = page.locator("main li.list-group-item", has=v1_name)
        v1_item.get_by_role("link", name="Delete").click()
        page.wait_for_load_state()
        assert re.fullmatch(r"/tags/\d+/delete", urlparse(page.url).path), page.url
        assert page.locator("main h1").inner_text() == f"Delete {NAMESPACE}/{REPOSITORY}:v1?"
        assert images["v1"].digest in page.locator("main").inner_text()
        assert page.locator("#tags-sharing-digest").inner_text() == "No other tag points at this digest."
        ui.shot(page, "06-tag-delete-confirmation")
        page.get_by_role("button", name="Delete v1").click()
        page.wait_for_load_state()
        assert page.url == ui.facts["repository_url"], page.url
        ui.expect_message(page, f"Deleted {NAMESPACE}/{REPOSITORY}: v1")
        names = lambda: [t.strip() for t in page.locator("main .portus-tag-name").all_inner_texts()]  # noqa: E731
        assert names() == ["v2"], names()
        ui.shot(page, "06-tag-deleted")

        creds = f"{MEMBER['username']}:{MEMBER['password']}"
        ref = ui.stack.registry.ref(f"{NAMESPACE}/{REPOSITORY}", "v1")
        gone = skopeo("inspect", "--raw", "--creds", creds, f"docker://{ref}", check=False)
        assert gone.returncode != 0, f"v1 is still in the registry: {gone.stdout[:300]}"
        assert "manifest unknown" in gone.stderr.lower() or "not found" in gone.stderr.lower(), gone.stderr
        kept = skopeo("inspect", "--raw", "--creds", creds,
                      f"docker://{ui.stack.registry.ref(f'{NAMESPACE}/{REPOSITORY}', 'v2')}", check=False)
        assert kept.returncode == 0, kept.stderr

        # The registry's own delete notification arrives afterwards: it must not bring the tag back.
        time.sleep(2)
        page.reload()
        assert names() == ["v2"], names()


PAGES = ("dashboard", "namespace", "repository", "team", "admin-users")


def _page_url(ui, name: str) -> str:
    return {
        "dashboard": ui.url + "/",
        "namespace": ui.facts["namespace_url"],
        "repository": ui.facts["repository_url"],
        "team": ui.facts["team_url"],
        "admin-users": ui.url + "/admin/users",
    }[name]


def test_07_phone_width_and_dark_theme(ui):
    with ui.step("07-phone-dark"):
        problems = []

        def visit(page, name: str, label: str, theme: str) -> None:
            page.goto(_page_url(ui, name))
            assert page.evaluate("document.documentElement.dataset.bsTheme") == theme, (label, name)
            ui.shot(page, f"07-{label}-{name}")
            width = ui.overflow(page)
            screen = page.viewport_size["width"]
            if width["scrollWidth"] > width["innerWidth"] + 1 or width["innerWidth"] > screen:
                problems.append(f"{label} {name}: scrollWidth {width['scrollWidth']}, innerWidth "
                                f"{width['innerWidth']}, screen {screen}; too wide: {width['culprits']}")

        for name in PAGES:
            visit(ui.pages["admin"], name, "desktop-light", "light")

        state = ui.pages["admin"].context.storage_state()
        phone = ui.open("phone", storage_state=state, viewport=PHONE, is_mobile=True)
        phone.goto(ui.url + "/")
        assert phone.evaluate("window.innerWidth") == PHONE["width"], "the phone page was zoomed out to fit"
        for name in PAGES:
            visit(phone, name, "phone-light", "light")

        # Dark through the theme control, in the collapsed navigation of a phone.
        phone.goto(ui.url + "/")
        phone.get_by_role("button", name="Toggle navigation").click()
        phone.locator("#portus-nav.show").wait_for()
        phone.locator("#portus-nav button.dropdown-toggle", has=phone.locator(".portus-theme-icon")).click()
        dark = phone.locator("[data-theme-choice=dark]")
        dark.wait_for(state="visible")
        ui.shot(phone, "07-phone-theme-menu-open")
        dark.click()
        assert phone.evaluate("document.documentElement.dataset.bsTheme") == "dark"
        assert dark.get_attribute("aria-pressed") == "true"
        phone.reload()
        assert phone.evaluate("document.documentElement.dataset.bsTheme") == "dark", "dark did not survive a reload"
        assert phone.evaluate("localStorage.getItem('portus-theme')") == "dark"
        for name in PAGES:
            visit(phone, name, "phone-dark", "dark")

        desktop_dark = ui.open("desktop-dark", storage_state=phone.context.storage_state(), viewport=DESKTOP)
        for name in PAGES:
            visit(desktop_dark, name, "desktop-dark", "dark")

        assert not problems, "pages that scroll sideways:\n" + "\n".join(problems)
        # Expected: the form with the unreachable registry answers 400, and the hostile comment's <img src=x>
        # (kept, without its handler) is not found. Nothing else failed to load, or went wrong in the console.
        expected = lambda status, path: (status, path) == (400, "/admin/registries/new") or (  # noqa: E731
            status == 404 and path.endswith("/x"))
        unexpected = [r for r in ui.failed_responses if not expected(*r[:2])]
        assert not unexpected, f"requests that failed: {unexpected}"
        console = [e for e in ui.console_errors if "Failed to load resource" not in e]
        assert not console, "errors in the browser console:\n" + "\n".join(console)
