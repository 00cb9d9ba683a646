"""A repository's pushes and pulls per day as a chart: {% load portus_traffic %}{% traffic_chart repository %}."""

from __future__ import annotations

from django import template
from django.utils.dateformat import format as date_format

from portus import charts
from traffic.services import DAYS, repository_traffic

register = template.Library()

PUSH_COLOR, PULL_COLOR = "var(--bs-primary)", "var(--bs-success)"


def _pushes(n: int) -> str:
    return f"{n} push" if n == 1 else f"{n} pushes"


def _pulls(n: int) -> str:
    return f"{n} pull" if n == 1 else f"{n} pulls"


@register.inclusion_tag("traffic/_repository_chart.html")
def traffic_chart(repository):
    traffic = repository_traffic(repository)
    labels = [date_format(day, "M j") for day in traffic.days]
    series = [charts.CountSeries("pushes", "pushes", PUSH_COLOR, traffic.pushes),
              charts.CountSeries("pulls", "pulls", PULL_COLOR, traffic.pulls)]
    chart = charts.columns(labels, series)
    rows = [{"day": day, "label": date_format(day, "D j M Y"), "pushes": p, "pulls": q}
            for day, p, q in zip(traffic.days, traffic.pushes, traffic.pulls, strict=True)]
    busiest = max(rows, key=lambda r: (r["pushes"] + r["pulls"], r["day"]))
    summary = (f"{_pushes(sum(traffic.pushes))} and "
               f"{_pulls(sum(traffic.pulls))} in the last {DAYS} days")
    if not chart["empty"]:
        summary += (f"; the busiest day was {busiest['label']} with "
                    f"{_pushes(busiest['pushes'])} and "
                    f"{_pulls(busiest['pulls'])}")
    for group, row in zip(chart["groups"], rows, strict=True):
        group["iso"] = row["day"].isoformat()
        group["title"] = (f"{row['label']}: {_pushes(row['pushes'])}, "
                          f"{_pulls(row['pulls'])}")
    return {"repository": repository, "chart": chart, "rows": [r for r in rows if r["pushes"] or r["pulls"]],
            "summary": summary + ".", "days": DAYS}
