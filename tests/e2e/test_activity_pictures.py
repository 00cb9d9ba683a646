"""Pushes and pulls as pictures, in a real browser against the real registry: images pushed and pulled with
skopeo, the registry's events counted per day, the repository's chart and the dashboard's timeline drawn on
the server, at 1280 and 375 px, light and dark. Screenshots under test-artifacts/screenshots/activity-*.png."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, OVERFLOW_JS, PHONE, SCREENSHOTS, submit_sign_in
from tests.e2e.conftest import PASSWORD
from tests.e2e.support.containers import skopeo
from tests.e2e.test_image_details import push, wait

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")

REPOSITORY = "qa/pictures"
PULLS = 3

# What axe-core checks on each page: the parts this feature draws.
AXE_PARTS = {"repository": ["section[aria-labelledby='traffic-heading']"],
             "dashboard": [".portus-timeline"],
             "namespace": ["form[aria-label='Filter activities']", ".portus-timeline"]}

COUNTS_SCRIPT = """
import json
from namespaces.models import Repository
from traffic.services import repository_traffic
r = Repository.objects.get(namespace__name="qa", name="pictures")
t = repository_traffic(r)
print("COUNTS" + json.dumps({"tag_pulls": sum(r.tags.values_list("pull_count", flat=True)),
                             "pushes": sum(t.pushes), "pulls": sum(t.pulls), "today_pulls": t.pulls[-1]}))
"""


def counts(stack) -> dict:
    out = stack.manage("shell", "-c", COUNTS_SCRIPT).stdout
    return json.loads(out.split("COUNTS", 1)[1])


def serious_violations(page, parts: list[str]) -> list[str]:
    """axe-core's serious and critical findings inside `parts` of the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context={"include": [[part] for part in parts]})
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_repository_chart_and_dashboard_timeline(stack, images):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    pytest.importorskip("axe_playwright_python")
    first, second = images.single(tag="1.0"), images.single(tag="2.0")
    push(stack, first, f"{REPOSITORY}:1.0")
    push(stack, second, f"{REPOSITORY}:2.0")
    stack.wait_for_tag(REPOSITORY, "1.0", first.digest)
    stack.wait_for_tag(REPOSITORY, "2.0", second.digest)
    for _ in range(PULLS):  # olivia pulls the manifest: one pull event each time
        skopeo("inspect", "--raw", "--creds", f"olivia:{PASSWORD}",
               f"docker://{stack.registry.address}/{REPOSITORY}:1.0", check=True)
    seen = wait("the pulls counted", lambda: (c := counts(stack))["tag_pulls"] >= PULLS and c)
    # Per day exactly what the tags count, and nothing but today's.
    assert seen["pulls"] == seen["today_pulls"] == seen["tag_pulls"]
    assert seen["pushes"] == 2
    repository = stack.repository(REPOSITORY)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    axe_report: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            assert submit_sign_in(page, stack.web_url, "olivia", PASSWORD) == "/"
            state = context.storage_state()
            pages = {"repository": f"/repositories/{repository['id']}", "dashboard": "/",
                     "namespace": f"/namespaces/{repository['namespace']['id']}/activities"}
            for label, viewport, mobile in (("desktop", DESKTOP, False), ("phone", PHONE, True)):
                for theme in ("light", "dark"):
                    view = browser.new_context(viewport=viewport, is_mobile=mobile, storage_state=state).new_page()
                    errors: list[str] = []
                    view.on("console", lambda msg, errors=errors: msg.type == "error" and errors.append(msg.text))
                    view.goto(stack.web_url + "/")
                    view.evaluate(f"localStorage.setItem('portus-theme', '{theme}')")
                    for name, path in pages.items():
                        response = view.goto(stack.web_url + path)
                        assert response.status == 200, (name, response.status)
                        if name == "repository":
                            chart = view.locator('svg[data-chart="repository-traffic"]')
                            title = chart.locator("title").first.text_content()
                            assert f"2 pushes and {seen['pulls']} pulls in the last 30 days" in title, title
                            box = chart.bounding_box()
                            assert box["width"] > 200 and box["x"] + box["width"] <= viewport["width"] + 1, box
                            view.locator("details summary", has_text="Figures per day").click()
                            row = view.locator("tr[data-day]").last.inner_text()
                            assert re.search(rf"\b2\s+{seen['pulls']}\b", row), row
                        if name == "dashboard":
                            items = view.locator(".portus-timeline-item")
                            assert items.count() >= 2
                            assert "Image pushed" in view.locator(".portus-timeline").first.inner_text()
                        view.screenshot(path=str(SCREENSHOTS / f"activity-{label}-{theme}-{name}.png"),
                                        full_page=True)
                        found = serious_violations(view, AXE_PARTS[name])
                        axe_report.append(f"{label} {theme} {name}: {len(found)} serious or critical")
                        problems.extend(f"{label} {theme} {name}: axe {v}" for v in found)
                        width = view.evaluate(OVERFLOW_JS, viewport["width"])
                        if width["scrollWidth"] > viewport["width"] + 1:
                            problems.append(f"{label} {theme} {name}: {width}")
                    # django-csp refuses anything inline: a violation would show as a console error.
                    assert not [e for e in errors if "Content Security Policy" in e], errors
                    view.context.close()
        finally:
            browser.close()
    print("axe-core on the activity pictures:\n" + "\n".join(axe_report))
    assert not problems, "pages that scroll sideways or fail axe:\n" + "\n".join(problems)
