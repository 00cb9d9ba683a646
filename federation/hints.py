"""What a refused password login adds when accounts may have no password (they sign in elsewhere)."""

from __future__ import annotations

from portus.options import option

PROVIDERS = ("openid_connect", "github", "gitlab", "google_oauth2")


def sso_enabled() -> bool:
    return any(option(f"oauth.{name}.enabled") for name in PROVIDERS)


def password_hint() -> str:
    """Said to every refused password login while a provider is on, whatever the account: saying it only
    to accounts that sign in with a provider would tell strangers which accounts exist."""
    if not sso_enabled():
        return ""
    scheme = "https" if option("tls.enabled") else "http"
    return (" Accounts that sign in with single sign-on have no password here: create an application token "
            f"on your profile page ({scheme}://{option('machine_fqdn.value')}/users/edit) and use it as the "
            "password.")
