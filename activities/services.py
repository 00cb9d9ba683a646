"""Recording activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from activities.models import Activity
from traffic.services import activities_counted


def activity_record(
    *,
    key: str,
    owner=None,
    target=None,
    target_type: str = "",
    target_name: str = "",
    namespace=None,
    team=None,
    parameters: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Activity:
    return activity_build(key=key, owner=owner, target=target, target_type=target_type, target_name=target_name,
                          namespace=namespace, team=team, parameters=parameters, at=at, save=True)


def activity_build(
    *,
    key: str,
    owner=None,
    target=None,
    target_type: str = "",
    target_name: str = "",
    namespace=None,
    team=None,
    parameters: dict[str, Any] | None = None,
    at: datetime | None = None,
    save: bool = False,
) -> Activity:
    """The activity `activity_record` writes; unsaved unless `save`, for `activities_record_many`."""
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_name = target_name or str(target)
    build = Activity.objects.create if save else Activity
    activity = build(
        key=key,
        owner=owner if owner is not None and getattr(owner, "pk", None) else None,
        target_type=target_type,
        target_id=getattr(target, "pk", None),
        target_name=target_name[:512],
        namespace=namespace,
        team=team,
        parameters=parameters or {},
        created_at=at or timezone.now(),
    )
    if save:
        activities_counted([activity])
    return activity


def activities_record_many(activities: list[Activity]) -> None:
    """Writes activities built by `activity_build` in one statement (the catalog sync's thousands)."""
    Activity.objects.bulk_create(activities, batch_size=500)
    activities_counted(activities)
