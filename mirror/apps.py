"""The mirror: the registry's notifications (inbox, processing) and the catalog sync."""

from django.apps import AppConfig


class MirrorConfig(AppConfig):
    name = "mirror"
    # The label its tables and migrations were made under, before the mirror had a room of its own;
    # keeping it means no database change on upgrade.
    label = "webhooks"
    verbose_name = "Mirror of the registries"
