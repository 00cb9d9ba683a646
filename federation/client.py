"""The OAuth 2 / OpenID Connect client of each provider, by authlib.

Why authlib: it is maintained, implements the relying party's side of the protocol as a whole (state
in the session, PKCE S256, the nonce, ID token validation against the provider's JWKS with a refetch on
an unknown key) for OpenID Connect and plain OAuth 2 (GitHub) alike, and leaves the account decisions to
us. One client per provider configuration, kept for the process: it caches the discovery document and
the keys.
"""

from __future__ import annotations

import threading

from authlib.integrations.django_client import OAuth

from federation.providers import Provider

_lock = threading.Lock()
_apps: dict[Provider, object] = {}
TIMEOUT_SECONDS = 10


def app_for(provider: Provider):
    with _lock:
        app = _apps.get(provider)
        if app is None:
            registry = OAuth()
            kwargs = {"scope": provider.scope, "default_timeout": TIMEOUT_SECONDS, "trust_env": False}
            if provider.is_oidc:
                app = registry.register(provider.key, client_id=provider.client_id,
                                        client_secret=provider.client_secret,
                                        server_metadata_url=provider.metadata_url,
                                        client_kwargs={**kwargs, "code_challenge_method": "S256"})
            else:
                app = registry.register(provider.key, client_id=provider.client_id,
                                        client_secret=provider.client_secret,
                                        authorize_url=provider.authorize_url, access_token_url=provider.token_url,
                                        api_base_url=provider.api_base, client_kwargs=kwargs)
            if len(_apps) > 16:  # only configurations ever reach here; a bound all the same
                _apps.clear()
            _apps[provider] = app
        return app
