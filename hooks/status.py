"""What the admin status page shows of outbound webhooks: the queue, and the latest failures."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from hooks.models import Delivery

RECENT_FAILURES = 10


def webhook_status(*, now=None) -> dict:
    """Four queries whatever the number of webhooks: waiting, retrying, failed in a day, the last failures."""
    now = now or timezone.now()
    deliveries = Delivery.objects.order_by()
    waiting = deliveries.filter(status__in=(Delivery.Status.PENDING, Delivery.Status.DELIVERING))
    return {
        "waiting": waiting.count(),
        "retrying": waiting.filter(attempts__gt=0).count(),
        "failed_day": deliveries.filter(status=Delivery.Status.FAILED,
                                        finished_at__gte=now - timedelta(days=1)).count(),
        # Given up, or failing and waiting for their next attempt: what an admin may want to look at.
        "failures": list(
            Delivery.objects.filter(status__in=(Delivery.Status.FAILED, Delivery.Status.PENDING), attempts__gt=0)
            .select_related("webhook", "webhook__namespace", "webhook__namespace__registry")
            .only("id", "status", "attempts", "error", "event_type", "created_at", "next_attempt_at",
                  "finished_at", "response_status", "webhook__id", "webhook__name", "webhook__url",
                  "webhook__namespace__id", "webhook__namespace__name", "webhook__namespace__is_global",
                  "webhook__namespace__registry__hostname", "webhook__namespace__registry__external_hostname",
                  "webhook__namespace__registry__name")
            .order_by("-id")[:RECENT_FAILURES]),
    }
