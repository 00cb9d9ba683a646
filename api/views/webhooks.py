"""A namespace's outbound webhooks and their delivery log. Namespaces the caller may not see are 404;
webhooks of one they may not manage (namespaces.policy.can_manage_webhooks) are 403."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError

from api.base import PortusAPIView
from api.schema import PAGINATED, PAGING_PARAMETERS, authed, path_id, sorting, with_body
from api.serializers.webhooks import (
    DELIVERY_SORT_FIELDS,
    WEBHOOK_SORT_FIELDS,
    DeliverySerializer,
    SecretSerializer,
    WebhookCreatedSerializer,
    WebhookFields,
    WebhookInput,
    WebhookSerializer,
)
from hooks import queue, services
from hooks.models import Delivery, Webhook
from namespaces import policy
from namespaces.models import Namespace

NAMESPACE_ID = path_id("id", "Namespace id.")
WEBHOOK_ID = path_id("webhook_id", "Webhook id.")
DELIVERY_ID = path_id("delivery_id", "Delivery id.")


def _headers(data: dict) -> list[tuple[str, str]] | None:
    if "headers" not in data:
        return None
    try:
        return services.clean_headers(data["headers"])
    except DjangoValidationError as exc:
        raise ValidationError({"headers": exc.messages}) from None


def webhook_input(data: dict) -> services.WebhookInput:
    events = data.get("events")
    return services.WebhookInput(
        url=data.get("url"), name=data.get("name"), request_method=data.get("request_method"),
        content_type=data.get("content_type"), payload_format=data.get("payload_format"),
        username=data.get("username"), password=data.get("password"),
        headers=_headers(data),
        enabled=data.get("enabled"),
        on_push=None if events is None else "push" in events,
        on_delete=None if events is None else "delete" in events,
        on_pull=None if events is None else "pull" in events,
    )


class WebhookMixin:
    def managed_namespace(self, pk: int) -> Namespace:
        namespace = self.found(Namespace.objects.visible_to(self.request.user).select_related("registry", "team"),
                               pk=pk)
        self.allow(policy.can_manage_webhooks(self.request.user, namespace))
        return namespace

    def webhook(self, pk: int, webhook_id: int) -> Webhook:
        namespace = self.managed_namespace(pk)
        webhook = self.found(Webhook.objects.filter(namespace=namespace), pk=webhook_id)
        webhook.namespace = namespace
        return webhook

    def fields(self) -> dict:
        body = self.body()
        data = body.get("webhook") if isinstance(body.get("webhook"), dict) else body
        return self.read(WebhookFields, data)


class WebhooksView(WebhookMixin, PortusAPIView):
    @extend_schema(tags=["webhooks"], summary="List a namespace's webhooks",
                   parameters=[NAMESPACE_ID, *PAGING_PARAMETERS, *sorting(WEBHOOK_SORT_FIELDS)],
                   responses={200: WebhookSerializer(many=True), **authed(400, 403, 404)},
                   extensions={PAGINATED: True})
    def get(self, request, id: int):
        namespace = self.managed_namespace(id)
        webhooks = Webhook.objects.filter(namespace=namespace).select_related("namespace")
        return self.present_page(WebhookSerializer, webhooks, sort_fields=WEBHOOK_SORT_FIELDS)

    @extend_schema(tags=["webhooks"], summary="Add a webhook to a namespace",
                   description="The answer holds the signing secret, shown this once only.",
                   parameters=[NAMESPACE_ID], request=WebhookInput,
                   responses={201: WebhookCreatedSerializer, **with_body(403, 404, 422)})
    def post(self, request, id: int):
        namespace = self.managed_namespace(id)
        self.allow(policy.can_create_webhook(request.user, namespace))
        data = webhook_input(self.fields())
        webhook, secret = services.webhook_create(namespace=namespace, data=data, by=request.user)
        webhook.secret = secret
        return self.present(WebhookCreatedSerializer, webhook, status_code=201)


class WebhookView(WebhookMixin, PortusAPIView):
    @extend_schema(tags=["webhooks"], summary="Show a webhook", parameters=[NAMESPACE_ID, WEBHOOK_ID],
                   responses={200: WebhookSerializer, **authed(403, 404)})
    def get(self, request, id: int, webhook_id: int):
        return self.present(WebhookSerializer, self.webhook(id, webhook_id))

    @extend_schema(tags=["webhooks"], summary="Change a webhook (fields left out stay as they are)",
                   parameters=[NAMESPACE_ID, WEBHOOK_ID], request=WebhookInput,
                   responses={200: WebhookSerializer, **with_body(403, 404, 422)})
    def put(self, request, id: int, webhook_id: int):
        webhook = self.webhook(id, webhook_id)
        services.webhook_update(webhook=webhook, data=webhook_input(self.fields()), by=request.user)
        return self.present(WebhookSerializer, webhook)

    @extend_schema(tags=["webhooks"], summary="Delete a webhook and its delivery log",
                   parameters=[NAMESPACE_ID, WEBHOOK_ID], responses={204: None, **authed(403, 404)})
    def delete(self, request, id: int, webhook_id: int):
        services.webhook_delete(webhook=self.webhook(id, webhook_id), by=request.user)
        return self.no_content()


class WebhookSecretView(WebhookMixin, PortusAPIView):
    @extend_schema(tags=["webhooks"], summary="Make a new signing secret (the old one stops at once)",
                   parameters=[NAMESPACE_ID, WEBHOOK_ID], request=None,
                   responses={201: SecretSerializer, **authed(403, 404)})
    def post(self, request, id: int, webhook_id: int):
        webhook = self.webhook(id, webhook_id)
        secret = services.webhook_secret_rotate(webhook=webhook, by=request.user)
        return self.present(SecretSerializer, {"secret": secret, "secret_hint": webhook.secret_hint},
                            status_code=201)


class WebhookPingView(WebhookMixin, PortusAPIView):
    @extend_schema(tags=["webhooks"], summary="Queue a test delivery (event `ping`)",
                   parameters=[NAMESPACE_ID, WEBHOOK_ID], request=None,
                   responses={201: DeliverySerializer, **authed(403, 404)})
    def post(self, request, id: int, webhook_id: int):
        delivery = queue.ping_queue(webhook=self.webhook(id, webhook_id), by=request.user)
        return self.present(DeliverySerializer, delivery, status_code=201)


class DeliveriesView(WebhookMixin, PortusAPIView):
    @extend_schema(tags=["webhooks"], summary="A webhook's delivery log, newest first",
                   parameters=[NAMESPACE_ID, WEBHOOK_ID, *PAGING_PARAMETERS,
                               *sorting(DELIVERY_SORT_FIELDS, default="id")],
                   responses={200: DeliverySerializer(many=True), **authed(400, 403, 404)},
                   extensions={PAGINATED: True})
    def get(self, request, id: int, webhook_id: int):
        webhook = self.webhook(id, webhook_id)
        deliveries = Delivery.objects.filter(webhook=webhook).order_by("-id")
        asked = {"sort_attr", "sort_order"} & set(request.query_params)
        return self.present_page(DeliverySerializer, deliveries, sort_fields=DELIVERY_SORT_FIELDS if asked else None)


class DeliveryView(WebhookMixin, PortusAPIView):
    @extend_schema(tags=["webhooks"], summary="One delivery: what was sent and what came back",
                   parameters=[NAMESPACE_ID, WEBHOOK_ID, DELIVERY_ID],
                   responses={200: DeliverySerializer, **authed(403, 404)})
    def get(self, request, id: int, webhook_id: int, delivery_id: int):
        webhook = self.webhook(id, webhook_id)
        return self.present(DeliverySerializer, self.found(Delivery.objects.filter(webhook=webhook), pk=delivery_id))


class RedeliverView(WebhookMixin, PortusAPIView):
    @extend_schema(tags=["webhooks"], summary="Send a delivery's event again (a new delivery, same event id)",
                   parameters=[NAMESPACE_ID, WEBHOOK_ID, DELIVERY_ID], request=None,
                   responses={201: DeliverySerializer, **authed(403, 404)})
    def post(self, request, id: int, webhook_id: int, delivery_id: int):
        webhook = self.webhook(id, webhook_id)
        delivery = self.found(Delivery.objects.filter(webhook=webhook), pk=delivery_id)
        delivery.webhook = webhook
        return self.present(DeliverySerializer, queue.delivery_redeliver(delivery=delivery), status_code=201)
