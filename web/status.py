"""What the status page computes: the last hour's event flow (a small SVG chart drawn on the server) and,
per registry, when it last sent an event and whether its last sync found pushes no event brought.

The hint. The registry notifies every manifest push; the catalog sync adds or repoints only what no
processed event had brought. When the last sync wrote tags that no event of that registry ever named
(`unnotified` in its summary, mirror/sync.py), the registry holds pushes it did not notify: its
`notifications` section is missing, points elsewhere, or carries a wrong secret (or those images were
pushed before Portus was wired to it, which a first sync of an existing registry shows once). Tags
written by a sync while their event was still waiting in the inbox do not count: the event names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max
from django.db.models.functions import TruncMinute
from django.utils import timezone

from portus.charts import CountSeries as Series

MINUTES = 60
WIDTH, HEIGHT = 600, 120  # the chart's viewBox
_STEP = WIDTH / (MINUTES - 1)


@dataclass(frozen=True)
class FlowChart:
    """Per-minute counts for the last MINUTES minutes (oldest first), ready for templates/admin/_event_flow."""

    start: datetime
    series: list[Series]

    @property
    def peak(self) -> int:
        return max([1] + [max(s.counts) for s in self.series])

    @property
    def empty(self) -> bool:
        return not any(s.total for s in self.series)

    def points(self, series: Series) -> str:
        """The SVG polyline's points: numbers only, nothing from the database but counts."""
        peak = self.peak
        return " ".join(f"{i * _STEP:.1f},{HEIGHT - 4 - (HEIGHT - 8) * count / peak:.1f}"
                        for i, count in enumerate(series.counts))

    def lines(self) -> list[tuple[Series, str]]:
        return [(series, self.points(series)) for series in self.series]

    @property
    def width(self) -> int:
        return WIDTH

    @property
    def height(self) -> int:
        return HEIGHT


def _buckets(rows, start: datetime) -> list[int]:
    counts = [0] * MINUTES
    for row in rows:
        index = int((row["minute"] - start).total_seconds() // 60)
        if 0 <= index < MINUTES:
            counts[index] += row["n"]
    return counts


def event_flow(*, now: datetime | None = None) -> FlowChart:
    """Events received, processed (done or ignored) and failed (failed or flagged) per minute in the last
    hour, by the time each happened. Two queries, whatever the traffic."""
    from mirror.models import Event

    now = now or timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)
    received = (Event.objects.filter(received_at__gte=start).order_by()
                .annotate(minute=TruncMinute("received_at")).values("minute").annotate(n=Count("id")))
    ended = (Event.objects.filter(processed_at__gte=start).order_by()
             .annotate(minute=TruncMinute("processed_at")).values("minute", "status").annotate(n=Count("id")))
    ended = list(ended)
    ok = (Event.Status.DONE, Event.Status.IGNORED)
    bad = (Event.Status.FAILED, Event.Status.FLAGGED)
    return FlowChart(start=start, series=[
        Series("received", "received", "#0d6efd", _buckets(received, start)),
        Series("processed", "processed", "#198754", _buckets([r for r in ended if r["status"] in ok], start)),
        Series("failed", "failed", "#dc3545", _buckets([r for r in ended if r["status"] in bad], start)),
    ])


def last_events(registries) -> dict[int, datetime]:
    """Registry id → when its last event arrived (one query for the page's registries)."""
    from mirror.models import Event

    rows = (Event.objects.filter(registry__in=[r.pk for r in registries]).order_by().values("registry")
            .annotate(last=Max("received_at")))
    return {row["registry"]: row["last"] for row in rows}


@dataclass(frozen=True)
class NotificationHint:
    unnotified: int
    sample: list[str]
    never_notified: bool  # no event of this registry is in the inbox at all


def notification_hint(registry, last_event: datetime | None) -> NotificationHint | None:
    """The hint about the registry's `notifications` section, when its last sync calls for it."""
    summary = registry.last_sync_summary if isinstance(registry.last_sync_summary, dict) else {}
    unnotified = summary.get("unnotified") or 0
    if not isinstance(unnotified, int) or unnotified <= 0:
        return None
    sample = [str(s)[:300] for s in (summary.get("unnotified_sample") or [])[:5]]
    return NotificationHint(unnotified=unnotified, sample=sample, never_notified=last_event is None)
