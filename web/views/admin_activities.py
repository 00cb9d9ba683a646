"""The activity log for admins: filtered, paged by keyset, and exported as CSV."""

from __future__ import annotations

import csv
import json
from datetime import datetime, time, timedelta

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import User
from activities.models import Activity
from web.forms_admin import ActivityFilterForm
from web.views import admin_required, keyset_paginate

ADMIN_PER_PAGE = 50
CSV_COLUMNS = ["time", "key", "user", "target_type", "target_id", "target", "namespace", "team", "parameters"]
CSV_CHUNK = 2000
CSV_FIELDS = ("created_at", "key", "owner__username", "target_type", "target_id", "target_name", "namespace__name",
              "team__name", "parameters")


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _filtered(request) -> tuple[ActivityFilterForm, object]:
    """The activities the admin asked for; every filter goes through an indexed column."""
    form = ActivityFilterForm(request.GET or None)
    queryset = Activity.objects.visible_to(request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["key"]:
            queryset = queryset.filter(key=data["key"].strip())
        if data["user"]:
            owner = User.objects.filter(username=data["user"].strip()).values_list("pk", flat=True).first()
            queryset = queryset.filter(owner_id=owner) if owner else queryset.none()
        if data["since"]:
            queryset = queryset.filter(created_at__gte=_start_of(data["since"]))
        if data["until"]:
            queryset = queryset.filter(created_at__lt=_start_of(data["until"] + timedelta(days=1)))
    elif form.is_bound:
        queryset = queryset.none()
    return form, queryset


@admin_required
def activities(request):
    form, queryset = _filtered(request)
    page = keyset_paginate(request, queryset.select_related("owner", "namespace", "namespace__registry", "team"),
                           per_page=ADMIN_PER_PAGE)
    return render(request, "admin/activities.html", {
        "form": form, "page": page, "csv_query": request.GET.urlencode(),
    }, status=400 if form.errors else 200)


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer inside a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    """Text that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for activity in queryset.in_batches(CSV_CHUNK):
        yield writer.writerow([
            activity.created_at.isoformat(),
            _cell(activity.key),
            _cell(activity.owner.username if activity.owner else ""),
            _cell(activity.target_type),
            "" if activity.target_id is None else activity.target_id,
            _cell(activity.target_name),
            _cell(activity.namespace.name if activity.namespace else ""),
            _cell(activity.team.name if activity.team else ""),
            _cell(json.dumps(activity.parameters, sort_keys=True) if activity.parameters else ""),
        ])


@admin_required
def activities_csv(request):
    _, queryset = _filtered(request)
    # Keyset batches, not a database cursor: a cursor outside a transaction is WITH HOLD, which makes the
    # database copy the whole result before the first row leaves (minutes, for millions of rows).
    queryset = queryset.select_related("owner", "namespace", "team").only(*CSV_FIELDS)
    response = StreamingHttpResponse(_rows(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="portus-activities-{stamp}.csv"'
    return response
