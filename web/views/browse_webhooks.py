"""A namespace's webhook pages: list, create, edit, delete, test, new signing secret, the delivery log and
redelivery. Outsiders get 404 (the namespace is not visible), members who may not manage webhooks 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from hooks import queue, services
from hooks.models import Delivery, Webhook
from namespaces import policy
from namespaces.models import Namespace
from web.forms_webhooks import WebhookForm
from web.views import ui_login_required
from web.views.browse_common import form_errors_from, paginate, visible_or_404

DELIVERIES_PER_PAGE = 25


def _namespace(request, pk: int, check=policy.can_manage_webhooks) -> Namespace:
    namespace = visible_or_404(Namespace.objects.visible_to(request.user).select_related("registry", "team"), pk=pk)
    if not check(request.user, namespace):
        raise PermissionDenied("You may not manage this namespace's webhooks.")
    return namespace


def _webhook(request, pk: int, webhook_pk: int) -> Webhook:
    namespace = _namespace(request, pk)
    webhook = visible_or_404(Webhook.objects.filter(namespace=namespace), pk=webhook_pk)
    webhook.namespace = namespace
    return webhook


def _secret_page(request, webhook: Webhook, secret: str, *, created: bool):
    # Shown in this response only: never stored in clear, never carried through a redirect.
    return render(request, "webhooks/secret.html", {"webhook": webhook, "namespace": webhook.namespace,
                                                    "secret": secret, "created": created},
                  status=201 if created else 200)


@ui_login_required
def webhook_list(request, pk: int):
    namespace = _namespace(request, pk)
    return render(request, "webhooks/index.html", {
        "namespace": namespace,
        "webhooks": list(Webhook.objects.filter(namespace=namespace).order_by("id")),
        "can_create": policy.can_create_webhook(request.user, namespace),
        "limit": services.MAX_WEBHOOKS_PER_NAMESPACE,
    })


@never_cache
@ui_login_required
@require_http_methods(["GET", "POST"])
def webhook_new(request, pk: int):
    namespace = _namespace(request, pk, policy.can_create_webhook)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            webhook, secret = services.webhook_create(namespace=namespace, data=form.webhook_input(),
                                                      by=request.user)
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            return _secret_page(request, webhook, secret, created=True)
    return render(request, "webhooks/form.html", {"namespace": namespace, "form": form, "webhook": None},
                  status=400 if request.method == "POST" else 200)


@ui_login_required
def webhook_detail(request, pk: int, webhook_pk: int):
    webhook = _webhook(request, pk, webhook_pk)
    deliveries = paginate(request, Delivery.objects.filter(webhook=webhook).order_by("-id")
                          .only("id", "uuid", "event_type", "status", "attempts", "response_status", "duration_ms",
                                "created_at", "finished_at", "next_attempt_at", "error", "redelivery",
                                "webhook_id"),
                          param="page", per_page=DELIVERIES_PER_PAGE)
    return render(request, "webhooks/show.html", {"namespace": webhook.namespace, "webhook": webhook,
                                                  "deliveries": deliveries})


@ui_login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request, pk: int, webhook_pk: int):
    webhook = _webhook(request, pk, webhook_pk)
    form = WebhookForm(request.POST or None, webhook=webhook, initial=WebhookForm.initial_of(webhook))
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_update(webhook=webhook, data=form.webhook_input(), by=request.user)
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Webhook {webhook} saved.")
            return redirect("webhook", pk=pk, webhook_pk=webhook.pk)
    return render(request, "webhooks/form.html", {"namespace": webhook.namespace, "form": form, "webhook": webhook},
                  status=400 if request.method == "POST" else 200)


@ui_login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request, pk: int, webhook_pk: int):
    webhook = _webhook(request, pk, webhook_pk)
    if request.method == "POST":
        services.webhook_delete(webhook=webhook, by=request.user)
        messages.success(request, f"Webhook {webhook} deleted.")
        return redirect("webhooks", pk=pk)
    return render(request, "webhooks/delete.html", {"namespace": webhook.namespace, "webhook": webhook})


@never_cache
@ui_login_required
@require_POST
def webhook_secret(request, pk: int, webhook_pk: int):
    webhook = _webhook(request, pk, webhook_pk)
    return _secret_page(request, webhook, services.webhook_secret_rotate(webhook=webhook, by=request.user),
                        created=False)


@ui_login_required
@require_POST
def webhook_ping(request, pk: int, webhook_pk: int):
    webhook = _webhook(request, pk, webhook_pk)
    queue.ping_queue(webhook=webhook, by=request.user)
    messages.success(request, "A test delivery is queued; it shows below once sent.")
    return redirect("webhook", pk=pk, webhook_pk=webhook.pk)


@ui_login_required
def delivery_detail(request, pk: int, webhook_pk: int, delivery_pk: int):
    webhook = _webhook(request, pk, webhook_pk)
    delivery = visible_or_404(Delivery.objects.filter(webhook=webhook), pk=delivery_pk)
    return render(request, "webhooks/delivery.html", {"namespace": webhook.namespace, "webhook": webhook,
                                                      "delivery": delivery})


@ui_login_required
@require_POST
def delivery_redeliver(request, pk: int, webhook_pk: int, delivery_pk: int):
    webhook = _webhook(request, pk, webhook_pk)
    delivery = visible_or_404(Delivery.objects.filter(webhook=webhook), pk=delivery_pk)
    delivery.webhook = webhook
    again = queue.delivery_redeliver(delivery=delivery)
    messages.success(request, "Queued again.")
    return redirect("webhook-delivery", pk=pk, webhook_pk=webhook.pk, delivery_pk=again.pk)
