"""REST API: a tag's image details (what is inside, what sits beside it) and storage per repository,
namespace and registry. Same reads as the pages; the registry is never called."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import PortusAPIView
from api.schema import authed, path_id, with_body
from images import storage
from images.details import image_view
from namespaces import policy
from namespaces.models import Namespace, Repository, Tag
from registries.models import Registry


class BlobOut(serializers.Serializer):
    digest = serializers.CharField()
    size = serializers.IntegerField()
    media_type = serializers.CharField(allow_blank=True)
    created_by = serializers.CharField(allow_blank=True, help_text="The history line that made the layer.")

    class Meta:
        ref_name = "ImageBlob"


class PlatformOut(serializers.Serializer):
    os = serializers.CharField(allow_blank=True)
    architecture = serializers.CharField(allow_blank=True)
    variant = serializers.CharField(allow_blank=True)
    digest = serializers.CharField()
    size = serializers.IntegerField()

    class Meta:
        ref_name = "ImagePlatform"


class ConfigOut(serializers.Serializer):
    created = serializers.CharField(allow_blank=True)
    author = serializers.CharField(allow_blank=True)
    os = serializers.CharField(allow_blank=True)
    architecture = serializers.CharField(allow_blank=True)
    variant = serializers.CharField(allow_blank=True)
    user = serializers.CharField(allow_blank=True)
    entrypoint = serializers.ListField(child=serializers.CharField(allow_blank=True))
    cmd = serializers.ListField(child=serializers.CharField(allow_blank=True))
    env = serializers.ListField(child=serializers.ListField(child=serializers.CharField(allow_blank=True)),
                                help_text="[name, value] pairs; values of secret-looking names are masked.")
    exposed_ports = serializers.ListField(child=serializers.CharField())
    working_dir = serializers.CharField(allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    stop_signal = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "ImageConfig"


class ReferrerOut(serializers.Serializer):
    digest = serializers.CharField()
    kind = serializers.ChoiceField(choices=["signature", "sbom", "attestation", "artifact"])
    badge = serializers.CharField()
    tag = serializers.CharField(allow_null=True, help_text="cosign's fallback tag, or null for an OCI referrer.")
    artifact_type = serializers.CharField(allow_null=True)
    verified_by = serializers.ListField(child=serializers.CharField(), help_text="Trusted keys it verifies with.")
    signatures = serializers.IntegerField()

    class Meta:
        ref_name = "ImageReferrer"


class ImageDetailsOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "done", "failed"],
                                     help_text="pending: not read from the registry yet.")
    digest = serializers.CharField()
    media_type = serializers.CharField(allow_blank=True)
    kind = serializers.CharField(allow_blank=True)
    total_size = serializers.IntegerField(help_text="Compressed bytes: config and layers (an index: its platforms).")
    config = ConfigOut(allow_null=True)
    annotations = serializers.DictField(child=serializers.CharField(allow_blank=True))
    source_url = serializers.CharField(allow_null=True, help_text="org.opencontainers.image.source, if http(s).")
    description = serializers.CharField(allow_null=True)
    config_blob = BlobOut(allow_null=True)
    layers = BlobOut(many=True)
    platforms = PlatformOut(many=True)
    truncated = serializers.ListField(child=serializers.CharField(), help_text="What was not kept, and why.")
    error = serializers.CharField(allow_null=True)
    signed = serializers.BooleanField()
    verified_by = serializers.ListField(child=serializers.CharField())
    referrers = ReferrerOut(many=True)

    class Meta:
        ref_name = "ImageDetails"


class UsageOut(serializers.Serializer):
    bytes = serializers.IntegerField(help_text="Bytes stored, each blob counted once.")
    blobs = serializers.IntegerField()
    shared_bytes = serializers.IntegerField(help_text="Of these, bytes another namespace holds too.")
    shared_blobs = serializers.IntegerField()

    class Meta:
        ref_name = "StorageUsage"


def _usage(usage: storage.Usage) -> dict:
    return {"bytes": usage.bytes, "blobs": usage.blobs, "shared_bytes": usage.shared_bytes,
            "shared_blobs": usage.shared_blobs}


class TagDetailsView(PortusAPIView):
    @extend_schema(tags=["tags"], summary="What is inside a tag's image, and what sits beside it",
                   description="Manifest, platforms, layers with their history, config (secret-looking environment "
                               "values masked), annotations, and its signatures, SBOMs and attestations, as read by "
                               "the background.", parameters=[path_id("id", "Tag id.")],
                   responses={200: ImageDetailsOut, **authed(404)})
    def get(self, request, id: int):
        visible = Repository.objects.visible_to(request.user).with_namespace()
        tag = self.found(Tag.objects.filter(repository__in=visible).select_related(
            "repository__namespace__registry"), pk=id)
        return self.present(ImageDetailsOut, image_view(tag).as_dict())


class RepositoryStorageView(PortusAPIView):
    @extend_schema(tags=["repositories"], summary="Bytes a repository stores",
                   parameters=[path_id("id", "Repository id.")], responses={200: UsageOut, **authed(404)})
    def get(self, request, id: int):
        repository = self.found(Repository.objects.visible_to(request.user).with_namespace(), pk=id)
        return self.present(UsageOut, _usage(storage.scoped_usage(namespace=repository.namespace,
                                                                 repository_id=repository.pk)))


class NamespaceStorageView(PortusAPIView):
    @extend_schema(tags=["namespaces"], summary="Bytes a namespace stores, and how much other namespaces share",
                   parameters=[path_id("id", "Namespace id.")], responses={200: UsageOut, **authed(404)})
    def get(self, request, id: int):
        namespace = self.found(Namespace.objects.visible_to(request.user).select_related("registry"), pk=id)
        return self.present(UsageOut, _usage(storage.scoped_usage(namespace=namespace)))


class RegistryStorageView(PortusAPIView):
    @extend_schema(tags=["registries"], summary="Bytes a registry stores (admins)",
                   parameters=[path_id("id", "Registry id.")], responses={200: UsageOut, **authed(403, 404)})
    def get(self, request, id: int):
        self.allow(policy.is_admin(request.user))
        registry = self.found(Registry.objects.all(), pk=id)
        return self.present(UsageOut, _usage(storage.registry_storage(registry).total))


class SigningKeyOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    fingerprint = serializers.CharField(help_text="SHA-256 of the public key (DER), hex.")
    pem = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "SigningKey"


class SigningKeyIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    pem = serializers.CharField(max_length=4096, help_text="cosign.pub: an ECDSA P-256 public key in PEM.")

    class Meta:
        ref_name = "SigningKeyCreate"


class _NamespaceKeys(PortusAPIView):
    def namespace(self, pk: int) -> Namespace:
        return self.found(Namespace.objects.visible_to(self.request.user).select_related("registry", "team"), pk=pk)


class NamespaceSigningKeysView(_NamespaceKeys):
    @extend_schema(tags=["namespaces"], summary="The cosign public keys a namespace trusts",
                   parameters=[path_id("id", "Namespace id.")], responses={200: SigningKeyOut(many=True),
                                                                          **authed(404)})
    def get(self, request, id: int):
        from images.models import SigningKey

        keys = SigningKey.objects.filter(namespace=self.namespace(id)).order_by("name")
        return Response(SigningKeyOut(keys, many=True).data)

    @extend_schema(tags=["namespaces"], summary="Trust a cosign public key (namespace managers)",
                   description="Signatures made with it are shown as verified by its name. 422 for a key that is "
                               "not ECDSA P-256, a private key, or one trusted already.",
                   parameters=[path_id("id", "Namespace id.")], request=SigningKeyIn,
                   responses={201: SigningKeyOut, **with_body(403, 404, 422)})
    def post(self, request, id: int):
        from images.services import signing_key_add

        namespace = self.namespace(id)
        self.allow(policy.can_manage_signing_keys(request.user, namespace))
        data = self.read(SigningKeyIn)
        key = signing_key_add(namespace=namespace, name=data["name"], pem=data["pem"], by=request.user)
        return self.present(SigningKeyOut, key, status_code=201)


class NamespaceSigningKeyView(_NamespaceKeys):
    @extend_schema(tags=["namespaces"], summary="Stop trusting a key (namespace managers)",
                   parameters=[path_id("id", "Namespace id."), path_id("key_id", "Key id.")],
                   responses={204: None, **authed(403, 404)})
    def delete(self, request, id: int, key_id: int):
        from images.models import SigningKey
        from images.services import signing_key_remove

        namespace = self.namespace(id)
        key = self.found(SigningKey.objects.filter(namespace=namespace).select_related("namespace"), pk=key_id)
        self.allow(policy.can_manage_signing_keys(request.user, namespace))
        signing_key_remove(key=key, by=request.user)
        return self.no_content()
