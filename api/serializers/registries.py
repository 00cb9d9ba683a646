"""Registries."""

from __future__ import annotations

from rest_framework import serializers


class RegistrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    hostname = serializers.CharField(read_only=True, help_text="host[:port] this service reaches it at.")
    external_hostname = serializers.CharField(read_only=True, help_text="host[:port] clients use, if different.")
    use_ssl = serializers.BooleanField(read_only=True)
    notification_secret_prefix = serializers.CharField(
        read_only=True, help_text="The start of the secret the registry authenticates its notifications with "
                                  "('' when it has none of its own).")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    class Meta:
        ref_name = "Registry"


class NotificationSecretInput(serializers.Serializer):
    revoke_previous = serializers.BooleanField(
        required=False, default=False,
        help_text="Stop accepting the current secret at once (it leaked); otherwise it stays valid for a day.")

    class Meta:
        ref_name = "NotificationSecretCreate"


class NotificationSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="The new secret; shown this once only. The "
                                   "registry sends it as `Authorization: Bearer <secret>` with its notifications.")
    prefix = serializers.CharField(read_only=True)
    previous_valid_until = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Until when the previous secret is still accepted.")

    class Meta:
        ref_name = "NotificationSecret"


class RegistryCreateFields(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    hostname = serializers.CharField(max_length=255)
    use_ssl = serializers.BooleanField()
    external_hostname = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "RegistryCreateFields"


class RegistryCreateInput(serializers.Serializer):
    registry = RegistryCreateFields()

    class Meta:
        ref_name = "RegistryCreate"


class RegistryUpdateFields(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    hostname = serializers.CharField(max_length=255, required=False)
    use_ssl = serializers.BooleanField(required=False)
    external_hostname = serializers.CharField(max_length=255, required=False, allow_blank=True)

    class Meta:
        ref_name = "RegistryUpdateFields"


class RegistryUpdateInput(serializers.Serializer):
    registry = RegistryUpdateFields()

    class Meta:
        ref_name = "RegistryUpdate"


class RegistryValidateQuery(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    hostname = serializers.CharField(max_length=255)
    use_ssl = serializers.BooleanField()
    external_hostname = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    only = serializers.ListField(
        child=serializers.ChoiceField(choices=["name", "hostname", "external_hostname", "use_ssl"]),
        required=False, allow_empty=True,
    )
