"""Driving Debian's Chromium with Playwright for the browser tests: screenshots, failures, layout checks."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import ROOT

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
TIMEOUT_MS = 10_000
TAG_VISIBLE_WITHIN = 10.0  # seconds from the end of the push to the tag on the page

ADMIN = {"username": "ada", "email": "ada@example.org", "password": "Ada-browser-passphrase-42"}
MEMBER = {"username": "mika", "email": "mika@example.org", "password": "Mika-browser-passphrase-42"}
TEAM, NAMESPACE, REPOSITORY = "storefront", "shopfloor", "checkout"
XSS_COMMENT = ('Try this: <script>window.__xss=1</script> and <img src=x onerror="window.__xss=2"> '
               "or [x](javascript:window.__xss=3)")



def human_size(size: int) -> str:
    """The size as the pages write it: bytes below 1 KiB, else one decimal."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


# The page's widths, and the elements reaching beyond the right edge of the viewport (the innermost ones):
# what makes a page scroll sideways. A phone browser zooms out to fit a page that is too wide, which makes
# window.innerWidth grow past the screen's width, so the edge is the viewport's width as configured.
OVERFLOW_JS = """(width) => {
  const limit = width + 1;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > limit && !el.closest('.visually-hidden')) {
      const hasWideChild = Array.from(el.children).some(c => c.getBoundingClientRect().right > limit);
      if (!hasWideChild) {
        const classes = typeof el.className === 'string' ? el.className.trim().split(/\\s+/).join('.') : '';
        out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (classes ? '.' + classes : '') +
                 ' right=' + Math.round(r.right));
      }
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, culprits: out.slice(0, 8)};
}"""


def submit_sign_in(page, base_url: str, username: str, password: str) -> str:
    """Fills the sign-in form and sends it; the path the browser lands on ("/" when signed in)."""
    page.goto(f"{base_url}/users/sign_in")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    return urlparse(page.url).path


@dataclass
class Browser:
    """The browser, its pages by name, what the steps learnt, and what went wrong on the way."""

    stack: object
    browser: object
    pages: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    failed: str | None = None
    shots: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    failed_responses: list = field(default_factory=list)
    blocked: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.stack.web_url

    def open(self, name: str, *, storage_state=None, viewport=DESKTOP, is_mobile: bool = False):
        """A page in a new browser context (its own cookies and storage), watched for errors."""
        context = self.browser.new_context(viewport=viewport, is_mobile=is_mobile, has_touch=is_mobile,
                                           storage_state=storage_state, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", self._only_this_stack)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{name} {page.url}: {error}"))
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(
            f"{name} {page.url}: {msg.text}"))
        page.on("response", lambda response: response.status >= 400 and self.failed_responses.append(
            (response.status, urlparse(response.url).path, name)))
        page.on("dialog", lambda dialog: dialog.accept())
        self.pages[name] = page
        return page

    def _only_this_stack(self, route):
        """Nothing leaves the machine: any request off 127.0.0.1 is refused and recorded."""
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in ("127.0.0.1", "localhost"):
            self.blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def shot(self, page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path.name)
        return path

    @contextlib.contextmanager
    def step(self, name: str):
        """Run one step: skipped after an earlier failure; on failure, screenshots of every open page."""
        if self.failed:
            pytest.skip(f"step {self.failed} failed before this one")
        errors_before, responses_before = len(self.page_errors), len(self.failed_responses)
        started = time.monotonic()
        try:
            yield
            new_errors = self.page_errors[errors_before:]
            assert not new_errors, "JavaScript errors on the pages:\n" + "\n".join(new_errors)
            server_errors = [r for r in self.failed_responses[responses_before:] if r[0] >= 500]
            assert not server_errors, f"server errors: {server_errors}"
            assert not self.blocked, "requests off this machine were attempted:\n" + "\n".join(self.blocked)
        except BaseException as error:
            if isinstance(error, pytest.skip.Exception):
                raise
            self.failed = name
            saved = []
            for page_name, page in self.pages.items():
                path = SCREENSHOTS / f"FAILED-{name}-{page_name}.png"
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(path), full_page=True)
                    saved.append(f"{path.relative_to(ROOT)} ({page.url})")
            if hasattr(error, "add_note"):
                error.add_note(f"step {name} failed; screenshots: " + (", ".join(saved) or "none could be taken"))
                error.add_note(f"last lines of the stack's logs:\n{self.stack.logs()}")
            raise
        finally:
            self.timings[name] = time.monotonic() - started

    # --- small things a person does -------------------------------------------------------------------

    def expect_message(self, page, text: str) -> None:
        messages = page.locator(".portus-messages")
        assert text in messages.inner_text(), f"expected the message {text!r} on {page.url}, saw: " \
                                              f"{messages.all_inner_texts() or page.locator('main').inner_text()[:800]}"

    def admin_menu(self, page, item: str) -> None:
        page.locator("#portus-nav a.dropdown-toggle", has_text="Admin").click()
        page.locator("#portus-nav .dropdown-menu.show").get_by_role("link", name=item, exact=True).click()
        page.wait_for_load_state()

    def nav(self, page, item: str) -> None:
        page.locator("#portus-nav").get_by_role("link", name=item, exact=True).click()
        page.wait_for_load_state()

    def overflow(self, page) -> dict:
        return page.evaluate(OVERFLOW_JS, page.viewport_size["width"])

    def sign_in(self, page, who: dict) -> None:
        landed = submit_sign_in(page, self.url, who["username"], who["password"])
        assert landed == "/", f"signing in as {who['username']} ended on {page.url}"
