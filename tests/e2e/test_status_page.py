"""The admin status page with events flowing: images pushed with skopeo to the real registry, which notifies
Portus; once the background process has handled them, the page's chart shows them received and processed.
Screenshots at 1280 px, light and dark: test-artifacts/screenshots/status-*.png."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, SCREENSHOTS, submit_sign_in
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_image_details import push

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")

PUSHED = ("qa/status-web", "qa/status-api", "qa/status-worker")


def chart(page) -> dict:
    """What the event chart shows: each series' total (from its legend), its line's highest point above the
    baseline, and the inbox's counters."""
    return page.evaluate("""() => {
      const svg = document.querySelector('svg[data-chart="event-flow"]');
      const out = {totals: {}, heights: {}, counters: {}, title: svg ? svg.querySelector('title').textContent : null};
      if (!svg) return out;
      const height = svg.viewBox.baseVal.height;
      for (const line of svg.querySelectorAll('polyline[data-series]')) {
        const ys = line.getAttribute('points').trim().split(/\\s+/).map(p => parseFloat(p.split(',')[1]));
        out.heights[line.dataset.series] = Math.max(...ys.map(y => height - 4 - y));
      }
      for (const item of document.querySelectorAll('#event-flow-caption .text-nowrap')) {
        const [label, total] = [item.childNodes[1].textContent.trim(), item.querySelector('strong').textContent];
        out.totals[label] = parseInt(total, 10);
      }
      for (const item of document.querySelectorAll('section[aria-labelledby="inbox-heading"] dl > div')) {
        out.counters[item.querySelector('dt').textContent.trim()] = parseInt(item.querySelector('dd').textContent, 10);
      }
      return out;
    }""")


def test_the_status_page_shows_pushed_events_received_and_processed(stack, images):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            assert submit_sign_in(page, stack.web_url, "admin", PASSWORD) == "/"
            assert page.goto(f"{stack.web_url}/admin").status == 200
            before = chart(page)  # the stack is shared: other tests may have pushed already

            for i, repository in enumerate(PUSHED):
                image = images.single(tag="v1", **{"etc/e2e-release": f"status page {i}\n"})
                push(stack, image, f"{repository}:v1")
                stack.wait_for_tag(repository, "v1", image.digest, timeout=60)

            # A catalog sync through the real registry finds nothing the events missed (the background's
            # first one may have run before the registry answered).
            out = stack.manage("sync_registry", "--registry", "e2e").stdout
            assert "(complete)" in out, out

            # Every event of those pushes handled: nothing waiting, and at least one manifest push per
            # repository among the processed ones of the last hour.
            deadline = time.monotonic() + 60
            while True:
                page.reload()
                now = chart(page)
                handled = (now["counters"].get("Pending") == 0 and now["counters"].get("Processing") == 0
                           and now["totals"].get("processed", 0) >= before["totals"].get("processed", 0) + len(PUSHED))
                if handled or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert handled, f"the events of {len(PUSHED)} pushes were not all processed within 60 s: {now}"
            assert now["totals"]["received"] >= before["totals"].get("received", 0) + len(PUSHED)
            assert now["totals"]["received"] >= now["totals"]["processed"] > 0
            # none of these pushes failed (what other tests of the shared stack did is theirs)
            assert now["totals"]["failed"] == before["totals"].get("failed", 0), now
            assert now["counters"]["Failed"] == before["counters"].get("Failed", 0), now
            assert now["heights"]["received"] > 0 and now["heights"]["processed"] > 0  # the lines rise
            assert now["counters"]["Done"] >= len(PUSHED)
            assert re.search(rf"\b{now['totals']['received']} received, {now['totals']['processed']} processed, "
                             rf"{now['totals']['failed']} failed\b", now["title"]), now["title"]
            main = page.locator("main").inner_text()
            assert "No registry event in the last hour." not in main
            if not now["counters"]["Failed"] and not now["counters"].get("Flagged"):
                assert "No event needs attention." in main
            assert "reachable" in main and "running" in main
            sync_line = page.locator("div.small", has_text="Last sync:").first.inner_text()
            assert "complete" in sync_line and "Error:" not in sync_line, sync_line
            state = context.storage_state()

            for theme in ("light", "dark"):
                view = browser.new_context(viewport=DESKTOP, storage_state=state).new_page()
                view.goto(stack.web_url + "/")
                view.evaluate(f"localStorage.setItem('portus-theme', '{theme}')")
                assert view.goto(f"{stack.web_url}/admin").status == 200
                assert view.evaluate("document.documentElement.dataset.bsTheme") == theme
                assert chart(view)["totals"]["received"] >= now["totals"]["received"]
                view.screenshot(path=str(SCREENSHOTS / f"status-desktop-{theme}.png"), full_page=True)
                view.context.close()
        finally:
            browser.close()
