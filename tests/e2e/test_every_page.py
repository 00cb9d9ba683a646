"""Every page of the UI, in a real browser, with the longest names the service accepts: at 1280 and 375 px,
in the light and the dark theme, no page scrolls sideways, no key text leaves its box, a name breaks only
after a separator, a cut name carries its full text in `title`, and axe-core finds no serious or critical
violation. Then a person signs in, creates a token and adds a team member with the keyboard alone.

The list of pages comes from the URL resolver: every pattern whose view answers GET is visited here or
excluded below with a reason, so a page added later without data here fails by its name (see
`test_every_get_page_is_visited_or_excluded`). Screenshots: test-artifacts/screenshots/pages-<page>-<width>-
<theme>.png; the axe counts per page and rule: test-artifacts/axe-pages.json.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, OVERFLOW_JS, SCREENSHOTS, submit_sign_in
from tests.e2e.conftest import ROOT, _running_stack
from tests.e2e.pages_catalogue import (
    AXE_NOT_BLOCKING,
    EXCLUDED,
    EXCLUDED_PREFIXES,
    EXTRA_PAGES,
    PAGES,
    READY,
    UNTHEMED,
    get_patterns,
)
from tests.e2e.pages_seed import (
    AFTER_PUSH_SCRIPT,
    LONG_NAMESPACE,
    LONG_TAG,
    LONG_TEAM,
    LONG_USER,
    PASSWORD,
    SEED_SCRIPT,
    TOTP_USER,
    long_repository,
)
from tests.e2e.support.containers import skopeo

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")

WIDTHS = {1280: {"width": 1280, "height": 900}, 375: {"width": 375, "height": 812}}
THEMES = ("light", "dark")
AXE_REPORT = ROOT / "test-artifacts" / "axe-pages.json"
BLOCKING_IMPACTS = ("serious", "critical")
NAVBAR_HEIGHT = 72  # one line of links at 1280 px (57 px), with room for a taller control


def test_every_get_page_is_visited_or_excluded():
    patterns = get_patterns()
    missing = [f"{name} ({pattern})" for name, pattern in patterns.items()
               if name not in PAGES and name not in EXCLUDED
               and not any(pattern.startswith(prefix) for prefix in EXCLUDED_PREFIXES)]
    assert not missing, (
        "pages that the every-page browser test neither visits nor excludes; add each to PAGES in "
        "tests/e2e/pages_catalogue.py with its path from the seeded data (tests/e2e/pages_seed.py), or to "
        "EXCLUDED with the reason:\n  " + "\n  ".join(missing))
    stale = sorted(set(PAGES) - {"namespace-personal"} - set(patterns)) + sorted(set(EXCLUDED) - set(patterns))
    assert not stale, f"PAGES or EXCLUDED name URL patterns that are gone or answer no GET: {stale}"


# --- the stack and its data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, images):
    with _running_stack(tmp_path_factory, "pages", populate=True) as stack:
        fill = dict(password=PASSWORD, long_user=LONG_USER, long_team=LONG_TEAM, long_namespace=LONG_NAMESPACE,
                    totp_user=TOTP_USER)
        out = stack.manage("shell", "-c", SEED_SCRIPT.format(**fill)).stdout
        seed = json.loads(out.split("SEED", 1)[1])
        path = long_repository(stack.registry.address)
        assert len(f"{stack.registry.address}/{path}") == 255
        image = images.single(tag=LONG_TAG)
        skopeo("copy", "--dest-creds", f"{LONG_USER}:{PASSWORD}", image.ref(),
               f"docker://{stack.registry.address}/{path}:{LONG_TAG}", check=True)
        skopeo("copy", "--dest-creds", f"{LONG_USER}:{PASSWORD}", image.ref(),
               f"docker://{stack.registry.address}/{path}:latest", check=True)
        deadline = time.monotonic() + 30
        while LONG_TAG not in stack.tags(path):
            assert time.monotonic() < deadline, f"{path}:{LONG_TAG} not listed 30 s after the push\n{stack.logs()}"
            time.sleep(0.25)
        name = path.split("/", 1)[1]
        out = stack.manage("shell", "-c", AFTER_PUSH_SCRIPT.format(long_user=LONG_USER, name=name,
                                                                   long_tag=LONG_TAG)).stdout
        seed.update(json.loads(out.split("SEED", 1)[1]))
        seed["repository_path"] = path
        yield stack, seed


@pytest.fixture(scope="module")
def browser():
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("pages-*.png"):
        old.unlink()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _sign_in(page, url: str, username: str) -> None:
    submit_sign_in(page, url, username, PASSWORD)


# --- what is checked on each page -------------------------------------------------------------------------

# Boxes that must stay inside the viewport (or inside the scrolling box they are in), whose text must not
# spill out of them, and where a name may break only after a separator.
LAYOUT_JS = r"""(width) => {
  const KEY = 'h1, h2, h3, h4, .navbar-brand, .nav-link, .navbar .dropdown-toggle, .breadcrumb-item, ' +
              'th, td, dt, dd, .card-title, .card-header, .list-group-item, .badge, .btn, label, .form-text, ' +
              '.alert, .portus-footer, p';
  const SEPARATOR = /[\/\-._:@=,;+?&#~\s]/;
  const where = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden' &&
      !el.closest('.visually-hidden, [hidden], .dropdown-menu:not(.show)');
  };
  const out = {outside: [], spilling: [], broken: [], untitled: []};
  const doc = document.documentElement;
  out.scrollWidth = doc.scrollWidth; out.clientWidth = doc.clientWidth;
  const bar = document.querySelector('header .navbar');
  out.navbarHeight = bar ? Math.round(bar.getBoundingClientRect().height) : 0;
  for (const el of document.querySelectorAll(KEY)) {
    if (!visible(el) || el.matches('.portus-skip-link')) continue;
    const r = el.getBoundingClientRect();
    const scroller = el.parentElement && el.parentElement.closest('.table-responsive, pre, .portus-scroll');
    if (!scroller && (r.left < -1 || r.right > width + 1)) {
      out.outside.push(where(el) + ` [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    }
    const style = getComputedStyle(el);
    const cut = style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1;
    if (cut && !(el.getAttribute('title') || (el.closest('[title]') || {}).title)) {
      out.untitled.push(where(el) + ': ' + el.textContent.trim().slice(0, 60));
    }
    if (!cut && style.overflowX === 'visible' && el.scrollWidth > el.clientWidth + 2 && el.clientWidth > 0 &&
        !['inline', 'contents'].includes(style.display) && !scroller) {
      out.spilling.push(where(el) + ` scrollWidth ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  // A token (a run of characters without white space) drawn on two lines must break after a separator.
  // A break inside a piece between two separators is forced when that piece alone is wider than its line.
  const forced = (node, start, word, at, parent) => {
    let from = at, to = at;
    while (from > 0 && !SEPARATOR.test(word[from - 1])) from--;
    while (to < word.length && !SEPARATOR.test(word[to])) to++;
    const piece = document.createRange();
    piece.setStart(node, start + from); piece.setEnd(node, start + to);
    const drawn = Array.from(piece.getClientRects()).reduce((sum, r) => sum + r.width, 0);
    let block = parent;
    while (block.parentElement && ['inline', 'contents'].includes(getComputedStyle(block).display)) {
      block = block.parentElement;
    }
    return drawn >= block.clientWidth - 24;
  };
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node && out.broken.length < 12; node = walker.nextNode()) {
    const parent = node.parentElement;
    const exempt = 'pre, code, kbd, samp, textarea, .markdown-body, .portus-secret, svg, .visually-hidden, script';
    if (!parent || parent.closest(exempt)) continue;
    const text = node.textContent;
    for (const match of text.matchAll(/\S{8,}/g)) {
      range.setStart(node, match.index); range.setEnd(node, match.index + match[0].length);
      if (range.getClientRects().length < 2) continue;
      let lastTop = null;
      for (let i = 0; i < match[0].length; i++) {
        range.setStart(node, match.index + i); range.setEnd(node, match.index + i + 1);
        const rect = range.getBoundingClientRect();
        if (rect.width === 0) continue;
        if (lastTop !== null && rect.top > lastTop + 2 && i > 0 && !SEPARATOR.test(match[0][i - 1]) &&
            !forced(node, match.index, match[0], i, parent)) {
          const around = match[0].slice(Math.max(0, i - 12), i) + '|' + match[0].slice(i, i + 12);
          out.broken.push(where(parent) + ': ' + around);
          break;
        }
        lastTop = rect.top;
      }
    }
  }
  return out;
}"""


# In the dark theme the page's structure is the light one's: there axe checks what the theme changes.
THEME_RULES = {"light": None, "dark": ["color-contrast", "link-in-text-block"]}


def _axe_counts(axe, page, theme: str) -> tuple[Counter, Counter, list[str]]:
    options = {"resultTypes": ["violations"]}
    if THEME_RULES[theme]:
        options["runOnly"] = {"type": "rule", "values": THEME_RULES[theme]}
    results = axe.run(page, options=options)
    counts: Counter = Counter()
    rules: Counter = Counter()
    blocking = []
    for violation in results.response["violations"]:
        impact = violation.get("impact") or "minor"
        counts[impact] += len(violation["nodes"])
        rules[f"{impact} {violation['id']}"] += len(violation["nodes"])
        if impact in BLOCKING_IMPACTS:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:4])
            blocking.append(f"{impact} {violation['id']} ({violation['help']}): {targets}")
    return counts, rules, blocking


def test_every_page_fits_with_the_longest_names_and_axe_finds_nothing_serious(seeded, browser):
    from axe_playwright_python.sync_playwright import Axe

    stack, seed = seeded
    axe = Axe()
    url = stack.web_url
    pages = {name: (who, build(seed), 200) for name, (who, build) in PAGES.items()}
    pages.update({name: (who, build(seed), status) for name, (who, build, status) in EXTRA_PAGES.items()})
    # While working on a page: PORTUS_E2E_PAGES=team,tag PORTUS_E2E_VIEWS=375-dark looks at those alone.
    if only := os.environ.get("PORTUS_E2E_PAGES"):
        pages = {name: pages[name] for name in only.split(",")}
    views = os.environ.get("PORTUS_E2E_VIEWS", "").split(",")
    problems: list[str] = []
    report: dict[str, dict[str, dict]] = {}
    started = time.monotonic()
    spent: Counter = Counter()
    login = browser.new_context()
    login_page = login.new_page()
    _sign_in(login_page, url, LONG_USER)
    assert urlparse(login_page.url).path == "/", login_page.url
    admin_state = login.storage_state()
    login.close()
    for width, viewport in WIDTHS.items():
        for theme in THEMES:
            if views != [""] and f"{width}-{theme}" not in views:
                continue
            contexts = {}

            def page_for(who: str, width=width, viewport=viewport, theme=theme, contexts=contexts):
                if who == "second-step":  # a new sign-in each time: the half-way state lasts one page
                    if who in contexts:
                        contexts.pop(who).close()
                if who not in contexts:
                    context = browser.new_context(viewport=viewport, is_mobile=width < 800, has_touch=width < 800,
                                                  storage_state=admin_state if who == "admin" else None)
                    context.add_init_script(f"try {{ localStorage.setItem('portus-theme', '{theme}') }} catch (e) {{}}")
                    context.set_default_timeout(15_000)
                    contexts[who] = context
                    page = context.new_page()
                    if who == "second-step":
                        _sign_in(page, url, TOTP_USER)
                    return page
                return contexts[who].pages[0]

            for name, (who, path, status) in pages.items():
                label = f"{name} at {width} px, {theme}"
                mark = time.monotonic()
                page = page_for(who)
                response = page.goto(url + path)
                assert response is not None and response.status == status, \
                    f"{label}: {path} answered {response.status if response else None}, expected {status}"
                landed = urlparse(page.url).path
                assert landed == urlparse(url + path).path or name == "password_reset_confirm", \
                    f"{label}: {path} redirected to {landed}"
                if name in READY:
                    page.locator(READY[name]).first.wait_for()
                if name not in UNTHEMED:
                    assert page.evaluate("document.documentElement.dataset.bsTheme") == theme, label
                spent["open"] += time.monotonic() - mark
                mark = time.monotonic()
                page.screenshot(path=str(SCREENSHOTS / f"pages-{name}-{width}-{theme}.png"), full_page=True)
                spent["screenshot"] += time.monotonic() - mark
                mark = time.monotonic()
                layout = page.evaluate(LAYOUT_JS, viewport["width"])
                spent["layout"] += time.monotonic() - mark
                mark = time.monotonic()
                if layout["scrollWidth"] > layout["clientWidth"]:
                    culprits = page.evaluate(OVERFLOW_JS, viewport["width"])["culprits"]
                    problems.append(f"{label}: the page scrolls sideways ({layout['scrollWidth']} > "
                                    f"{layout['clientWidth']}); too wide: {culprits}")
                if width >= 992 and layout["navbarHeight"] > NAVBAR_HEIGHT:
                    problems.append(f"{label}: the navigation takes {layout['navbarHeight']} px, more than one line")
                for kind in ("outside", "spilling", "broken", "untitled"):
                    if layout[kind]:
                        problems.append(f"{label}: {kind}: " + "; ".join(layout[kind][:6]))
                counts, rules, blocking = _axe_counts(axe, page, theme)
                report.setdefault(name, {})[f"{width}-{theme}"] = dict(counts, rules=dict(rules))
                spent["axe"] += time.monotonic() - mark
                if name in AXE_NOT_BLOCKING:
                    if blocking:
                        print(f"\n{label}: not blocking ({AXE_NOT_BLOCKING[name]}): " + "; ".join(blocking))
                else:
                    problems.extend(f"{label}: axe {line}" for line in blocking)
            for context in contexts.values():
                context.close()
    elapsed = time.monotonic() - started
    AXE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    AXE_REPORT.write_text(json.dumps(report, indent=1, sort_keys=True))
    visits = len(pages) * (len(WIDTHS) * len(THEMES) if views == [""] else len(views))
    print(f"\n{visits} page views in {elapsed:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in spent.items()) +
          f"); screenshots in {SCREENSHOTS}, axe counts in {AXE_REPORT}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


# --- the keyboard alone -----------------------------------------------------------------------------------

# What has the focus, and whether a person sees where it is: an outline or a ring (box-shadow) drawn while
# the element matches :focus-visible.
FOCUSED_JS = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1;
  const ring = style.boxShadow && style.boxShadow !== 'none';
  return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '',
          text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 60),
          href: el.getAttribute('href') || '', visible: el.matches(':focus-visible'), ring: outline || ring,
          style: `outline ${style.outlineStyle} ${style.outlineWidth}, box-shadow ${style.boxShadow}`};
}"""


class Keyboard:
    """Tab moves the focus, Enter and Space act, typing fills the focused field; every focus stop is
    checked for a visible focus indicator."""

    def __init__(self, page) -> None:
        self.page = page
        self.unseen: list[str] = []
        self.stops = 0

    def tab_to(self, matches: Callable[[dict], bool], what: str, *, limit: int = 80) -> dict:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(FOCUSED_JS)
            if focused is None:
                continue
            self.stops += 1
            if not (focused["visible"] and focused["ring"]):
                self.unseen.append(f"{self.page.url} {focused}")
            if matches(focused):
                return focused
        raise AssertionError(f"{what}: not reached with {limit} presses of Tab on {self.page.url}")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def submit(self, key: str = "Enter") -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press(key)


def test_sign_in_create_a_token_and_add_a_member_with_the_keyboard_alone(seeded, browser):
    stack, seed = seeded
    context = browser.new_context(viewport=WIDTHS[1280])
    context.set_default_timeout(15_000)
    page = context.new_page()
    keys = Keyboard(page)
    try:
        page.goto(stack.web_url + "/users/sign_in")
        keys.tab_to(lambda f: f["id"] == "id_username", "the user name field")
        keys.type(LONG_USER)
        keys.tab_to(lambda f: f["id"] == "id_password", "the password field")
        keys.type(PASSWORD)
        keys.submit()
        assert urlparse(page.url).path == "/", page.url

        # The user menu, by its name, then "Profile and tokens".
        keys.tab_to(lambda f: f["tag"] == "button" and LONG_USER[:20] in f["text"], "the user menu")
        keys.press("Enter")
        page.locator("#portus-nav .dropdown-menu.show").wait_for()
        keys.tab_to(lambda f: f["href"] == "/users/edit", "Profile and tokens")
        keys.submit()
        assert urlparse(page.url).path == "/users/edit", page.url
        keys.tab_to(lambda f: f["id"] == "id_application", "the token's name")
        keys.type("typed-with-the-keyboard")
        keys.tab_to(lambda f: f["tag"] == "button" and f["text"] == "Create token", "Create token")
        keys.submit()
        main = page.locator("main").inner_text()
        assert "typed-with-the-keyboard" in main, main[:500]

        # Teams, the long-named team, and its add-member form: name, role (arrow keys), Add.
        page.goto(stack.web_url + "/")
        keys.tab_to(lambda f: f["href"] == "/teams", "Teams in the navigation")
        keys.submit()
        keys.tab_to(lambda f: f["href"] == f"/teams/{seed['team']}", "the team's link")
        keys.submit()
        assert urlparse(page.url).path == f"/teams/{seed['team']}", page.url
        keys.tab_to(lambda f: f["id"] == "id_username", "the add-member field")
        keys.type(TOTP_USER)
        keys.tab_to(lambda f: f["id"] == "id_role", "the role")
        keys.type("c")  # a closed list takes the first letter of an option
        chosen = page.locator("#id_role").input_value()
        assert chosen == "contributor", f"typing c chose {chosen}"
        keys.tab_to(lambda f: f["tag"] == "button" and f["text"] == "Add", "Add")
        keys.submit()
        message = page.locator(".portus-messages").inner_text()
        assert f"{TOTP_USER} joined" in message and f"as {chosen}" in message, message
        assert keys.stops > 10
        assert not keys.unseen, "focus stops without a visible focus indicator:\n" + "\n".join(keys.unseen)
        print(f"\nkeyboard: {keys.stops} focus stops, each with a visible focus indicator")
    finally:
        context.close()
