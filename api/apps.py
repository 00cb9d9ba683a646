"""The REST API v1 (Portus-compatible)."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"

    def ready(self) -> None:
        # Registers the OpenAPI description of the authentication classes.
        from api import schema  # noqa: F401
