"""Recording activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from activities.models import Activity


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
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_name = target_name or str(target)
    return Activity.objects.create(
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
