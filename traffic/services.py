"""Counting pushes and pulls per repository and day, and reading the last days back for a chart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone

from traffic.models import RepositoryDay

DAYS = 30

# SQLite (3.24+) and PostgreSQL both read this; the table name is the model's, fixed.
_UPSERT = (
    "INSERT INTO traffic_repositoryday (repository_id, day, pushes, pulls) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (repository_id, day) DO UPDATE SET "
    "pushes = traffic_repositoryday.pushes + excluded.pushes, "
    "pulls = traffic_repositoryday.pulls + excluded.pulls"
)


def _day(moment: datetime | None) -> date:
    return timezone.localdate(moment) if moment is not None else timezone.localdate()


def traffic_count(*, pushes: Iterable[tuple[int, datetime]] = (), pulls: Iterable[tuple[int, datetime]] = ()) -> None:
    """Adds (repository id, when) pushes and pulls to their days: one upsert statement a (repository, day),
    so concurrent background processes never lose a count."""
    counts: Counter[tuple[int, date, str]] = Counter()
    for repository_id, moment in pushes:
        counts[(repository_id, _day(moment), "pushes")] += 1
    for repository_id, moment in pulls:
        counts[(repository_id, _day(moment), "pulls")] += 1
    rows: dict[tuple[int, date], list[int]] = {}
    for (repository_id, day, kind), n in counts.items():
        row = rows.setdefault((repository_id, day), [0, 0])
        row[0 if kind == "pushes" else 1] += n
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(_UPSERT, [(rid, day, p, q) for (rid, day), (p, q) in sorted(rows.items())])


def activities_counted(activities) -> None:
    """Counts the pushes among freshly recorded activities (activities/services.py calls it)."""
    traffic_count(pushes=[(a.target_id, a.created_at) for a in activities
                          if a.key == "repository.push" and a.target_type == "repository" and a.target_id])


@dataclass(frozen=True)
class Traffic:
    days: list[date]
    pushes: list[int]
    pulls: list[int]


def repository_traffic(repository, *, days: int = DAYS, today: date | None = None) -> Traffic:
    """The last `days` days up to today, oldest first, zeros where nothing happened. One query."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    found = {row.day: row for row in RepositoryDay.objects.filter(repository=repository, day__gte=first,
                                                                   day__lte=today)}
    span = [first + timedelta(days=i) for i in range(days)]
    return Traffic(days=span, pushes=[found[d].pushes if d in found else 0 for d in span],
                   pulls=[found[d].pulls if d in found else 0 for d in span])
