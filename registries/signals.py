"""What the registries app tells the apps above it, so that it never has to import them."""

from django.dispatch import Signal

# Sent inside the transaction that adds a registry (keyword argument `registry`): the namespaces app
# gives it its global namespace and every user a personal namespace in it.
registry_created = Signal()
