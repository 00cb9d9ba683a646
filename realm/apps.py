"""The token realm: `/v2/token`, the decision, the JWT and its signing key."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_generation_triggers(using: str = "default", **_) -> None:
    from django.db import connections

    from realm import generation

    generation.install(connections[using])


class RealmConfig(AppConfig):
    name = "realm"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from realm import decisions, generation
        from realm.internal import internal_token
        from registries import client

        client.use_token_minter(internal_token)
        # After every migrate (a table rebuilt by a migration loses its triggers): realm/generation.py.
        post_migrate.connect(_install_generation_triggers, sender=self, dispatch_uid="realm-generation-triggers")
        setting_changed.connect(decisions.forget_all, dispatch_uid="realm-decisions-settings")
        setting_changed.connect(generation.forget_recent, dispatch_uid="realm-generation-settings")
