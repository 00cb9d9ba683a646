"""Image details read from the registry, keyed by registry + digest and linked to the repositories
that hold them; trusted cosign keys per namespace; daily storage snapshots."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    IMAGE = "image", "Image"
    INDEX = "index", "Image index"
    SIGNATURE = "signature", "Signature"
    SBOM = "sbom", "SBOM"
    ATTESTATION = "attestation", "Attestation"
    ARTIFACT = "artifact", "Artifact"
    UNKNOWN = "unknown", "Unknown"


ARTIFACT_KINDS = (Kind.SIGNATURE, Kind.SBOM, Kind.ATTESTATION, Kind.ARTIFACT)


class Manifest(models.Model):
    """One manifest of a registry, as read by the background (images/fetch.py). Also a work item:
    `pending` rows are claimed with a lease, read, and become `done` (or `failed` after retries)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    registry = models.ForeignKey("registries.Registry", on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=160)
    # The repository it was first seen in: where it is read from while no repository row links it yet.
    seen_in = models.CharField(max_length=512, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(auto_now_add=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.UNKNOWN)
    media_type = models.CharField(max_length=255, blank=True)
    artifact_type = models.CharField(max_length=255, blank=True)
    # The manifest this one refers to: its OCI 1.1 `subject`, or the digest in a cosign tag's name.
    subject_digest = models.CharField(max_length=160, blank=True)
    body_size = models.PositiveIntegerField(default=0)  # the manifest's own bytes (a blob in the registry)
    total_size = models.BigIntegerField(default=0)  # config + layers; for an index, over its platforms
    # [{"os", "architecture", "variant", "digest", "size"}] for an index.
    platforms = models.JSONField(default=list, blank=True)
    # created, author, entrypoint, cmd, env (secrets masked), exposed_ports, working_dir, labels, os, …
    config = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    # cosign simple-signing signatures: [{"payload": base64, "signature": base64}], verified when shown.
    signatures = models.JSONField(default=list, blank=True)
    # Bounds hit while reading it ("42 layers not shown"), for the page to say so.
    truncated = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registry", "digest"], name="unique_image_manifest")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["registry", "subject_digest"]),
            models.Index(fields=["digest"]),
            models.Index(fields=["registry", "seen_in"]),
        ]

    def __str__(self) -> str:
        return f"{self.registry_id}@{self.digest}"

    @property
    def is_artifact(self) -> bool:
        return self.kind in ARTIFACT_KINDS


class ManifestLink(models.Model):
    """A manifest held by a repository (a tag points at it, it was pushed there by digest, or it is a
    platform of an index held there)."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="links")
    repository = models.ForeignKey("namespaces.Repository", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "manifest"], name="unique_manifest_link")]


class Blob(models.Model):
    """A config or layer of an image manifest, in order, with the history line that made a layer."""

    class Role(models.TextChoices):
        CONFIG = "config"
        LAYER = "layer"

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="blobs")
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=8, choices=Role.choices)
    digest = models.CharField(max_length=160)
    size = models.BigIntegerField(default=0)
    media_type = models.CharField(max_length=255, blank=True)
    created_by = models.TextField(blank=True)

    class Meta:
        ordering = ["manifest_id", "position"]
        constraints = [models.UniqueConstraint(fields=["manifest", "position"], name="unique_blob_position")]
        indexes = [models.Index(fields=["digest"])]


class SigningKey(models.Model):
    """A cosign public key (ECDSA P-256, PEM) the namespace trusts: signatures made with it are verified."""

    namespace = models.ForeignKey("namespaces.Namespace", on_delete=models.CASCADE, related_name="signing_keys")
    name = models.CharField(max_length=100)
    pem = models.TextField()
    fingerprint = models.CharField(max_length=64)  # sha256 of the DER public key, hex
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="unique_signing_key_name"),
            models.UniqueConstraint(fields=["namespace", "fingerprint"], name="unique_signing_key"),
        ]

    def __str__(self) -> str:
        return self.name


class StorageSnapshot(models.Model):
    """Bytes stored on one day, per registry (namespace NULL) and per namespace, written once a day."""

    day = models.DateField()
    registry = models.ForeignKey("registries.Registry", on_delete=models.CASCADE, related_name="+")
    namespace = models.ForeignKey("namespaces.Namespace", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="+")
    bytes = models.BigIntegerField(default=0)
    shared_bytes = models.BigIntegerField(default=0)
    blobs = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["day", "registry", "namespace"], name="unique_storage_snapshot"),
            models.UniqueConstraint(fields=["day", "registry"], condition=models.Q(namespace__isnull=True),
                                    name="unique_registry_storage_snapshot"),
        ]
