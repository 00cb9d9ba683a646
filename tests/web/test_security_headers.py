"""Security headers and cookies on a page, an API answer and /v2/token; with TLS on, HSTS and Secure cookies."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.config.test_production_settings import ROOT, production_env
from tests.conftest import PASSWORD

SERVICE = "registry.test.lan:5000"
DOORS = {"page": "/users/sign_in", "api": "/api/v1/_ping", "token": f"/v2/token?service={SERVICE}"}


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("door", DOORS)
def test_every_door_answers_with_the_security_headers(client, owner, door):
    response = client.get(DOORS[door])
    assert response.status_code == 200, response.content[:300]
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response  # plain HTTP, TLS off


def test_cookies_are_http_only_and_same_site_and_not_secure_without_tls(client, owner):
    page = client.get("/users/sign_in")
    csrf = page.cookies["csrftoken"]
    assert csrf["samesite"] == "Lax" and not csrf["secure"]
    response = client.post("/users/sign_in", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax" and not session["secure"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_holds_what_the_policy_refuses():
    """The policy allows no inline script or style: templates keep them in static files."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", path.read_text(), flags=re.S)
        found += [f"{path.relative_to(ROOT)}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert not found


def test_the_team_page_loads_its_typeahead_from_a_static_file(client, owner, team):
    client.force_login(owner, backend="accounts.backends.PortusBackend")
    html = client.get(f"/teams/{team.pk}").content.decode()
    assert 'src="/static/portus/member_typeahead.js"' in html
    assert not INLINE[0][0].search(html)


# --- with TLS on: the production settings, in their own process --------------------------------------

PROBE = """
import json, sys
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
from accounts.services import user_create
from registries.services import registry_create
registry_create(name="main", hostname="registry.test.lan:5000", use_ssl=False, by=None, check=False)
user_create(username="olivia", email=None, password=sys.argv[1], check_password=False)

def seen(response):
    return {"status": response.status_code, "location": response.get("Location"),
            "headers": {k: v for k, v in response.items()},
            "cookies": {name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]),
                               "samesite": m["samesite"]} for name, m in response.cookies.items()}}

doors = json.loads(sys.argv[2])
out = {}
client = Client(HTTP_HOST="portus.example.org")
for name, path in doors.items():
    out["https " + name] = seen(client.get(path, secure=True))
    out["http " + name] = seen(client.get(path))
out["http health"] = seen(client.get("/api/v1/health"))
out["http webhooks"] = seen(client.post("/v2/webhooks/events", "{}", content_type="application/json"))
out["https sign in"] = seen(client.post("/users/sign_in", {"username": "olivia", "password": sys.argv[1]},
                                        secure=True, HTTP_REFERER="https://portus.example.org/users/sign_in"))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def over_tls(tmp_path_factory, signing_files) -> dict:
    tmp_path = tmp_path_factory.mktemp("tls")
    env = production_env(tmp_path, PORTUS_KEY_PATH=str(signing_files[0]),
                         PORTUS_CERTIFICATE_PATH=str(signing_files[1]), PORTUS_PLAIN_STATIC="1",
                         PORTUS_FAST_PASSWORD_HASHER="1")
    result = subprocess.run([sys.executable, "-c", PROBE, PASSWORD, json.dumps(DOORS)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("door", DOORS)
def test_with_tls_every_https_answer_carries_hsts_and_the_policy(over_tls, door):
    seen = over_tls[f"https {door}"]
    assert seen["status"] == 200, seen
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_with_tls_every_cookie_is_secure(over_tls):
    csrf = over_tls["https page"]["cookies"]["csrftoken"]
    assert csrf == {"secure": True, "httponly": False, "samesite": "Lax"}
    signed_in = over_tls["https sign in"]
    assert signed_in["status"] == 302, signed_in
    assert signed_in["cookies"]["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_with_tls_browsers_asking_over_plain_http_are_sent_to_https(over_tls):
    page = over_tls["http page"]
    assert page["status"] == 301 and page["location"] == "https://portus.example.org/users/sign_in"
    assert over_tls["http api"]["status"] == 200  # the ping probe is never redirected


def test_with_tls_machine_doors_are_never_redirected(over_tls):
    """Go clients turn a redirected token POST into a GET; the registry and probes talk plain HTTP inside."""
    assert over_tls["http token"]["status"] == 200
    assert over_tls["http health"]["status"] in (200, 503)
    assert over_tls["http webhooks"]["status"] == 401  # no secret sent: refused, not redirected
    assert "Strict-Transport-Security" not in over_tls["http token"]["headers"]

