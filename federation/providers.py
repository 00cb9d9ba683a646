"""The sign-in providers the configuration turns on (`oauth.*`), each described the same way.

A generic OpenID Connect provider (any issuer with discovery), Google and GitLab (OpenID Connect with
their issuers) and GitHub (OAuth 2 with its REST API: GitHub has no OpenID Connect for people).
"""

from __future__ import annotations

from dataclasses import dataclass

from portus.options import option

KEYS = ("openid_connect", "github", "gitlab", "google_oauth2")


@dataclass(frozen=True)
class Provider:
    key: str
    label: str
    client_id: str
    client_secret: str
    scope: str
    # OpenID Connect: the discovery document's address. GitHub: empty, the endpoints below instead.
    metadata_url: str = ""
    authorize_url: str = ""
    token_url: str = ""
    api_base: str = ""
    domains: tuple[str, ...] = ()
    group: str = ""  # GitLab, or the generic provider's groups claim must hold it
    groups_claim: str = "groups"
    organization: str = ""  # GitHub
    team: str = ""  # GitHub, within the organization
    hosted_domain: str = ""  # Google's `hd`

    @property
    def is_oidc(self) -> bool:
        return bool(self.metadata_url)


def _domains(raw: str) -> tuple[str, ...]:
    return tuple(d.strip().lower().lstrip("@") for d in raw.split(",") if d.strip())


def _discovery(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _build(key: str) -> Provider | None:
    o = lambda name: option(f"oauth.{key}.{name}")  # noqa: E731
    if not o("enabled"):
        return None
    if key == "openid_connect":
        return Provider(key, o("name") or "OpenID Connect", o("identifier"), o("secret"), "openid email profile",
                        metadata_url=_discovery(o("issuer").strip()), domains=_domains(o("domain")),
                        group=o("group").strip(), groups_claim=o("groups_claim").strip() or "groups")
    if key == "google_oauth2":
        hd = option("oauth.google_oauth2.options.hd").strip().lower()
        return Provider(key, "Google", o("id"), o("secret"), "openid email profile",
                        metadata_url=_discovery("https://accounts.google.com"),
                        domains=_domains(o("domain")) or ((hd,) if hd else ()), hosted_domain=hd)
    if key == "gitlab":
        server = (o("server").strip() or "https://gitlab.com").rstrip("/")
        return Provider(key, "GitLab", o("application_id"), o("secret"), "openid email profile",
                        metadata_url=_discovery(server), domains=_domains(o("domain")), group=o("group").strip(),
                        groups_claim="groups")
    if key == "github":
        server = o("server").strip().rstrip("/")
        web = server or "https://github.com"
        api = f"{server}/api/v3/" if server else "https://api.github.com/"
        scope = "read:user user:email" + (" read:org" if o("organization").strip() else "")
        return Provider(key, "GitHub", o("client_id"), o("client_secret"), scope,
                        authorize_url=f"{web}/login/oauth/authorize", token_url=f"{web}/login/oauth/access_token",
                        api_base=api, domains=_domains(o("domain")), organization=o("organization").strip(),
                        team=o("team").strip())
    return None


def configured() -> list[Provider]:
    return [p for p in (_build(key) for key in KEYS) if p is not None]


def get(key: str) -> Provider | None:
    return _build(key) if key in KEYS else None
