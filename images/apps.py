"""What is inside each image, the artifacts beside it (signatures, SBOMs, attestations) and storage."""

from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "images"
    verbose_name = "Image details, artifacts and storage"

    def ready(self) -> None:
        from images import hooks

        hooks.connect()
