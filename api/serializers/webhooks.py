"""Outbound webhooks of a namespace and their deliveries."""

from __future__ import annotations

from rest_framework import serializers

from hooks.models import Delivery, Webhook
from namespaces import policy

EVENTS = ("push", "delete", "pull")
WEBHOOK_SORT_FIELDS = {"id": "pk", "name": "name", "url": "url", "created_at": "created_at"}
DELIVERY_SORT_FIELDS = {"id": "pk", "created_at": "created_at", "status": "status"}


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    namespace_id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    request_method = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    payload_format = serializers.CharField(read_only=True, help_text="portus, cloudevents or slack.")
    username = serializers.CharField(read_only=True)
    has_password = serializers.BooleanField(read_only=True, help_text="The password itself is never shown.")
    header_names = serializers.ListField(child=serializers.CharField(), read_only=True,
                                         help_text="Names of the custom headers (their values are never shown).")
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    enabled = serializers.BooleanField(read_only=True)
    secret_hint = serializers.CharField(read_only=True, help_text="The start of the signing secret.")
    secret_rotated_at = serializers.DateTimeField(read_only=True)
    last_delivery_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    updatable = serializers.SerializerMethodField()
    destroyable = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Webhook"

    def get_updatable(self, webhook: Webhook) -> bool:
        return policy.can_manage_webhooks(self.context["user"], webhook.namespace)

    def get_destroyable(self, webhook: Webhook) -> bool:
        return self.get_updatable(webhook)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret; shown this once only.")

    class Meta:
        ref_name = "WebhookCreated"


class WebhookFields(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    url = serializers.CharField(max_length=2000, required=False, trim_whitespace=True,
                                help_text="http:// or https://; private addresses are refused unless allowed.")
    request_method = serializers.ChoiceField(choices=Webhook.Method.values, required=False)
    content_type = serializers.ChoiceField(choices=Webhook.ContentType.values, required=False)
    payload_format = serializers.ChoiceField(choices=Webhook.Format.values, required=False)
    username = serializers.CharField(max_length=255, required=False, allow_blank=True)
    password = serializers.CharField(max_length=1024, required=False, allow_blank=True, write_only=True,
                                     trim_whitespace=False, help_text="Write only; empty removes it.")
    headers = serializers.JSONField(required=False, write_only=True,
                                    help_text='[{"name": …, "value": …}], at most 10; replaces the current ones.')
    events = serializers.MultipleChoiceField(choices=EVENTS, required=False, allow_empty=True)
    enabled = serializers.BooleanField(required=False)

    class Meta:
        ref_name = "WebhookFields"


class WebhookInput(serializers.Serializer):
    webhook = WebhookFields()

    class Meta:
        ref_name = "WebhookWrite"


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="The new signing secret; shown this once only.")
    secret_hint = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "WebhookSecret"


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    uuid = serializers.UUIDField(read_only=True, help_text="Sent as X-Portus-Delivery.")
    webhook_id = serializers.IntegerField(read_only=True)
    event_id = serializers.CharField(read_only=True, help_text="The payload's id: the same for a redelivery.")
    event_type = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Delivery.Status.choices, read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    next_attempt_at = serializers.DateTimeField(read_only=True)
    redelivery_of = serializers.IntegerField(source="redelivery_of_id", read_only=True, allow_null=True)
    request_url = serializers.CharField(read_only=True)
    request_method = serializers.CharField(read_only=True)
    request_header = serializers.DictField(source="request_headers", read_only=True,
                                           help_text="Of the last attempt; secrets masked.")
    request_body = serializers.CharField(read_only=True)
    response_status = serializers.IntegerField(read_only=True, allow_null=True)
    response_header = serializers.DictField(source="response_headers", read_only=True)
    response_body = serializers.CharField(read_only=True, help_text="The first 4 KiB.")
    duration_ms = serializers.IntegerField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        ref_name = "WebhookDelivery"
