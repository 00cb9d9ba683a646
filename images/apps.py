"""What is inside each image, the artifacts beside it (signatures, SBOMs, attestations) and storage."""

from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "images"
    verbose_name = "Image details, artifacts and storage"

    def ready(self) -> None:
        from images import artifacts, hooks
        from namespaces import deletion

        hooks.connect()
        if artifacts.referrer_digests not in deletion.BESIDE_FINDERS:
            deletion.BESIDE_FINDERS.append(artifacts.referrer_digests)
            deletion.AFTER_DELETE.append(artifacts.forget)
