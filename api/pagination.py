"""Paging and ordering of lists, as Portus did it (`page`, `per_page`, `all`, `sort_attr`, `sort_order`).

Headers: X-Per-Page, X-Page, X-Next-Page, X-Prev-Page, X-Total, X-Total-Pages and Link (prev, next, first,
last). The ceiling `pagination.max_per_page` bounds every answer: a larger `per_page` is capped to it (the
X-Per-Page header says what was used), and `all=true` is refused with 400 when the list is longer than the
ceiling, rather than silently cut short. Counts and pages stop at COUNT_CAP entries (X-Total-Capped: true past it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from portus.options import option
from portus.slicing import deep_slice

DEFAULT_PER_PAGE = 15
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
# Beyond this a page number cannot point at anything (and would overflow a database's OFFSET).
MAX_PAGE = 10**9
# Lists count at most this many entries (a COUNT over millions of tags costs more than the page). A longer list
# says X-Total: 10000 and X-Total-Capped: true, has no rel="last", and pages reach its first 10,000 entries
# (sort the other way for the other end), as the web UI's lists do.
COUNT_CAP = 10_000


def _int(params, name: str, default: int, errors: dict) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        errors[name] = ["Give a whole number."]
        return default
    if value < 1:
        errors[name] = ["Give a number of at least 1."]
        return default
    return value


def parse_bool(params, name: str, errors: dict, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None:
        return default
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    errors[name] = ["Give true or false."]
    return default


@dataclass
class Page:
    rows: list
    headers: dict[str, str]


@dataclass
class Paging:
    page: int
    per_page: int
    everything: bool


def _paging(params, errors: dict) -> Paging:
    page = _int(params, "page", 1, errors)
    per_page = _int(params, "per_page", DEFAULT_PER_PAGE, errors)
    everything = parse_bool(params, "all", errors)
    if page > MAX_PAGE:
        errors["page"] = [f"Give a page number of at most {MAX_PAGE}."]
    return Paging(page, per_page, everything)


def paginate(request, queryset: QuerySet, *, sort_fields: dict[str, str] | None,
             default_sort: str = "id") -> Page:
    """Orders and cuts `queryset` as the request asks; `sort_fields` maps the public name to the field.

    `sort_fields=None` means the list has a fixed order (the queryset's).
    """
    params = request.query_params
    errors: dict[str, list[str]] = {}
    paging = _paging(params, errors)
    if sort_fields is not None:
        attr = params.get("sort_attr") or default_sort
        if attr not in sort_fields:
            errors["sort_attr"] = [f"Sort by one of: {', '.join(sorted(sort_fields))}."]
        order = (params.get("sort_order") or "asc").lower()
        if order not in ("asc", "desc"):
            errors["sort_order"] = ["Give asc or desc."]
        if not errors:
            field = sort_fields[attr]
            prefix = "-" if order == "desc" else ""
            tiebreak = [] if field == "pk" else [f"{prefix}pk"]
            queryset = queryset.order_by(f"{prefix}{field}", *tiebreak)
    if errors:
        raise ValidationError(errors)
    # Deep pages are read by their keys first (portus/slicing.py): the skipped rows cost no joins or annotations.
    return _cut(request, paging, *_bounded_count(queryset), lambda start, stop: list(deep_slice(queryset, start, stop)))


def _bounded_count(queryset: QuerySet) -> tuple[int, bool]:
    """(rows, capped): an exact count up to COUNT_CAP, else COUNT_CAP and True; one query that reads at most
    COUNT_CAP + 1 keys (no order, no annotation), whatever the table holds."""
    cap = max(COUNT_CAP, int(option("pagination.max_per_page")))
    counted = queryset.order_by().values("pk")[: cap + 1].count()
    return min(counted, cap), counted > cap


def paginate_values(request, values: list) -> Page:
    """The same paging over a list in its given order (e.g. the digests of a repository)."""
    errors: dict[str, list[str]] = {}
    paging = _paging(request.query_params, errors)
    if errors:
        raise ValidationError(errors)
    return _cut(request, paging, len(values), False, lambda start, stop: values[start:stop])


def _cut(request, paging: Paging, total: int, capped: bool, rows) -> Page:
    ceiling = int(option("pagination.max_per_page"))
    if paging.everything:
        if total > ceiling or capped:
            raise ValidationError({"all": [f"This list has {total}{'+' if capped else ''} entries, more than the "
                                           f"{ceiling} one answer may hold: page through it with page and "
                                           "per_page."]})
        return Page(rows(0, total), {"X-Total": str(total)})
    per_page = min(paging.per_page, ceiling)
    total_pages = max(1, math.ceil(total / per_page))
    offset = (paging.page - 1) * per_page
    if not capped:
        found = rows(offset, offset + per_page) if offset < total else []
        more = paging.page < total_pages
    elif offset >= total:
        # Reading past the counted entries would cost an OFFSET over millions of rows: the other end of a
        # long list is its first pages in the other order.
        raise ValidationError({"page": [f"This list has more than {total} entries; pages reach the first "
                                        f"{total}. Sort the other way (sort_order) or narrow the list down."]})
    else:
        # Past the counted part the count cannot say where the list ends: one row more than the page tells.
        found = rows(offset, offset + per_page + 1)
        more = len(found) > per_page and offset + per_page < total
        found = found[:per_page]
    headers = _headers(request, page=paging.page, per_page=per_page, total=total, total_pages=total_pages,
                       more=more, capped=capped)
    return Page(found, headers)


def _headers(request, *, page: int, per_page: int, total: int, total_pages: int, more: bool,
             capped: bool) -> dict[str, str]:
    next_page = page + 1 if more else None
    prev_page = page - 1 if 1 < page and (capped or page <= total_pages) else None
    base = request.build_absolute_uri(request.path)
    kept = [(key, value) for key, values in request.query_params.lists() for value in values
            if key not in ("page", "per_page")]

    def link(number: int, rel: str) -> str:
        query = urlencode([*kept, ("page", number), ("per_page", per_page)])
        return f'<{base}?{query}>; rel="{rel}"'

    links = []
    if prev_page:
        links.append(link(prev_page, "prev"))
    if next_page:
        links.append(link(next_page, "next"))
    links.append(link(1, "first"))
    if not capped:
        links.append(link(total_pages, "last"))
    headers = {
        "X-Per-Page": str(per_page),
        "X-Page": str(page),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
        "Link": ", ".join(links),
    }
    if capped:
        headers["X-Total-Capped"] = "true"
    return headers
