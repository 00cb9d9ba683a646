"""The image pages in a real browser: a signed image in a 255-character repository path with a 128-character
tag, the tag page, the repository page, the signing keys and the Storage page at 1280 and 375 px, light and
dark: nothing scrolls sideways. Screenshots under test-artifacts/screenshots/images-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, OVERFLOW_JS, PHONE, SCREENSHOTS, submit_sign_in
from tests.e2e.conftest import PASSWORD
from tests.e2e.support import artifacts as art
from tests.e2e.test_image_details import details, push

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")

LONG_TAG = "t" * 128


def long_path(host: str) -> str:
    """qa/ + components of 60 characters: with the registry's host in front, 255 characters, the longest
    reference name the clients take."""
    rest = 255 - len(host) - 1 - len("qa/") - 3 * 61
    return "qa/" + "/".join(["c" * 60, "d" * 60, "e" * 60, "f" * rest])


def test_image_pages_fit_at_both_widths_in_both_themes(stack, images):
    LONG_PATH = long_path(stack.registry.address)  # noqa: N806
    assert len(f"{stack.registry.address}/{LONG_PATH}") == 255
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    image = images.single(tag=LONG_TAG)
    push(stack, image, f"{LONG_PATH}:{LONG_TAG}")
    pusher = art.RegistryPusher(registry_url=stack.registry.url, realm_url=stack.web_url,
                                service=stack.registry.address, username="admin", password=PASSWORD)
    signature, blobs = art.cosign_signature(art.new_key(), f"{stack.registry.address}/{LONG_PATH}", image.digest)
    pusher.push_manifest(LONG_PATH, art.cosign_tag(image.digest, "sig"), signature, blobs)
    details(stack, LONG_PATH, LONG_TAG, referrers=1)
    tag_id = stack.tags(LONG_PATH)[LONG_TAG]["id"]
    repository = stack.repository(LONG_PATH)
    pages = {"tag": f"/tags/{tag_id}", "repository": f"/repositories/{repository['id']}",
             "signing-keys": f"/namespaces/{repository['namespace']['id']}/signing_keys", "storage": "/admin/storage"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            assert submit_sign_in(page, stack.web_url, "admin", PASSWORD) == "/"
            state = context.storage_state()
            for label, viewport, mobile in (("desktop", DESKTOP, False), ("phone", PHONE, True)):
                for theme in ("light", "dark"):
                    view = browser.new_context(viewport=viewport, is_mobile=mobile, storage_state=state).new_page()
                    view.goto(stack.web_url + "/")
                    view.evaluate(f"localStorage.setItem('portus-theme', '{theme}')")
                    for name, path in pages.items():
                        response = view.goto(stack.web_url + path)
                        assert response.status == 200, (name, response.status)
                        assert view.evaluate("document.documentElement.dataset.bsTheme") == theme
                        view.screenshot(path=str(SCREENSHOTS / f"images-{label}-{theme}-{name}.png"), full_page=True)
                        width = view.evaluate(OVERFLOW_JS, viewport["width"])
                        if width["scrollWidth"] > viewport["width"] + 1:
                            problems.append(f"{label} {theme} {name}: {width}")
                    if label == "phone" and theme == "light":
                        view.goto(stack.web_url + pages["tag"])
                        text = view.locator("main").inner_text()
                        assert "signed (unverified)" in text and "tests/e2e/support/images.py" in text
                    view.context.close()
        finally:
            browser.close()
    assert not problems, "pages that scroll sideways:\n" + "\n".join(problems)
