"""Views of the web UI, and the helpers they share: access decorators and pagination."""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.shortcuts import redirect

from namespaces import policy
from portus.options import option


def _refuse_non_ui_account(request):
    """A bot's or the internal account's session (made before it became one) ends here."""
    logout(request)
    return redirect(settings.LOGIN_URL)


def ui_login_required(view):
    """Signed in with an account that may use the web UI; anonymous visitors go to the sign-in page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not policy.can_use_ui(request.user):
            return _refuse_non_ui_account(request)
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    """Admins only: anonymous visitors go to the sign-in page, everyone else gets 403."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not policy.can_use_ui(request.user):
            return _refuse_non_ui_account(request)
        if not policy.can_manage_users(request.user):
            raise PermissionDenied("Only administrators may open this page.")
        return view(request, *args, **kwargs)

    return wrapper


def _page_url(request, param: str, number) -> str:
    params = request.GET.copy()
    params[param] = str(number)
    return f"?{params.urlencode()}"


def paginate(request, queryset, *, per_page: int | None = None, param: str = "page"):
    """A numbered page (two queries: a count and the rows), for lists of a bounded size.

    `param` names the page's query parameter, so one page may hold several lists.
    """
    paginator = Paginator(queryset, per_page or option("pagination.per_page"))
    try:
        page = paginator.page(request.GET.get(param) or 1)
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    page.links = [
        (number, None if number in (page.number, paginator.ELLIPSIS) else _page_url(request, param, number))
        for number in paginator.get_elided_page_range(
            page.number, on_each_side=option("pagination.before_after"), on_ends=1
        )
    ]
    page.previous_url = _page_url(request, param, page.number - 1) if page.has_previous() else None
    page.next_url = _page_url(request, param, page.number + 1) if page.has_next() else None
    return page


@dataclass
class KeysetPage:
    """One page of a list ordered newest first by (created_at, id), found by seeking, never counting."""

    object_list: list
    newer_url: str | None = None
    older_url: str | None = None
    newest_url: str | None = None

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.newer_url or self.older_url or self.newest_url)


def encode_cursor(row) -> str:
    raw = f"{row.created_at.isoformat()}|{row.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    if not cursor or len(cursor) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, pk = raw.partition("|")
        moment = datetime.fromisoformat(when)
        return (moment, int(pk)) if moment.tzinfo is not None else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _cursor_url(request, **cursor) -> str:
    params = request.GET.copy()
    for key in ("before", "after"):
        params.pop(key, None)
    params.update(cursor)
    return f"?{params.urlencode()}"


def keyset_paginate(request, queryset, *, per_page: int | None = None) -> KeysetPage:
    """Newest first; `?before=<cursor>` pages towards older rows, `?after=<cursor>` back towards newer.

    Each page is one query for per_page + 1 rows along (created_at, id), whatever the table's size: the
    queryset's older_than / newer_than (activities.models.ActivityQuerySet) seek along that index.
    """
    size = per_page or option("pagination.per_page")
    before = decode_cursor(request.GET.get("before", ""))
    after = decode_cursor(request.GET.get("after", "")) if before is None else None
    if after is not None:
        moment, pk = after
        rows = list(queryset.newer_than(moment, pk).order_by("created_at", "id")[: size + 1])
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        if not rows or not more_newer:
            # Back at the newest rows: show the first page as it is now.
            before = None
        else:
            return KeysetPage(
                rows,
                newer_url=_cursor_url(request, after=encode_cursor(rows[0])),
                older_url=_cursor_url(request, before=encode_cursor(rows[-1])),
                newest_url=_cursor_url(request),
            )
    if before is not None:
        moment, pk = before
        queryset = queryset.older_than(moment, pk)
    rows = list(queryset.order_by("-created_at", "-id")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    page = KeysetPage(rows)
    if more_older:
        page.older_url = _cursor_url(request, before=encode_cursor(rows[-1]))
    if before is not None:
        page.newest_url = _cursor_url(request)
        if rows:
            page.newer_url = _cursor_url(request, after=encode_cursor(rows[0]))
    return page
