"""The API documentation page in the site's theme: light and dark as the visitor chose (or the system),
readable in both, with a way back to the site. A browser test: the theme is set by theme.js."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, SCREENSHOTS

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed")]


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css)[:3])


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_the_docs_page_follows_the_sites_theme(live_server, theme, viewport):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # The system says the opposite: the visitor's choice (kept by the site's theme switch) wins.
            context = browser.new_context(viewport=viewport, color_scheme="dark" if theme == "light" else "light")
            context.add_init_script(f"window.localStorage.setItem('portus-theme', '{theme}')")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{live_server.url}/api/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            page.wait_for_selector(".swagger-ui .opblock-tag", timeout=30_000)
            assert page.evaluate("document.documentElement.dataset.bsTheme") == theme
            body_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            dark_bg = _luminance(_rgb(body_bg)) < 0.1
            assert dark_bg == (theme == "dark"), body_bg
            for selector in (".swagger-ui .info .title", ".swagger-ui .opblock-tag",
                             ".swagger-ui .opblock .opblock-summary-path", ".portus-docs-header a"):
                color = page.evaluate("s => getComputedStyle(document.querySelector(s)).color", selector)
                assert contrast(color, body_bg) >= 4.5, f"{selector}: {color} on {body_bg}"
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
            page.get_by_role("link", name="Portus").first.wait_for()
            page.screenshot(path=str(SCREENSHOTS / f"api-docs-{theme}-{viewport['width']}.png"), full_page=False)
            assert not errors, errors
        finally:
            browser.close()
