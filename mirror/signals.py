"""What the mirror tells the apps above it (imports point down: they listen, the mirror never imports them)."""

from django.dispatch import Signal

# Sent INSIDE the transaction that records a registry event as processed, for a push of a tagged manifest
# (after it was read from the registry), a delete the registry does not contradict, and a pull of a tag.
# Rows a receiver writes commit with the event's new status or not at all (the event is then processed
# again), so a receiver that queues work loses none (outbound webhooks: hooks/queue.py). Receivers must not
# call out over the network here. Arguments: event (mirror.models.Event), registry, image (the
# registries.manifests.ImageDetails read for a push, else None).
event_processed = Signal()
