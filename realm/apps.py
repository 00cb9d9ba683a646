"""The token realm: `/v2/token`, the decision, the JWT and its signing key."""

from django.apps import AppConfig


class RealmConfig(AppConfig):
    name = "realm"

    def ready(self) -> None:
        from realm.internal import internal_token
        from registries import client

        client.use_token_minter(internal_token)
