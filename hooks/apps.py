"""Outbound webhooks: namespaces tell other systems about pushes, deletes and pulls."""

from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "hooks"
    label = "hooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        # The mirror is below this app: it announces processed events, the queue listens.
        from hooks import queue
        from mirror.signals import event_processed

        event_processed.connect(queue.on_event_processed, dispatch_uid="hooks.queue")
