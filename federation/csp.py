"""The origins of the providers' sign-in pages, for the Content-Security-Policy's form-action: a browser
checks every step of a form's redirects against the page's form-action, and the sign-in and link
buttons are forms that redirect to the provider. Computed from the configuration tree at start-up
(no Django imports: portus/settings.py calls it)."""

from __future__ import annotations

from urllib.parse import urlsplit


def _origin(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def sign_in_origins(tree: dict) -> list[str]:
    oauth = tree["oauth"]
    urls = []
    if oauth["openid_connect"]["enabled"]:
        urls.append(oauth["openid_connect"]["issuer"])
    if oauth["google_oauth2"]["enabled"]:
        urls.append("https://accounts.google.com")
    if oauth["gitlab"]["enabled"]:
        urls.append(oauth["gitlab"]["server"] or "https://gitlab.com")
    if oauth["github"]["enabled"]:
        urls.append(oauth["github"]["server"] or "https://github.com")
    return sorted({o for o in map(_origin, urls) if o})
