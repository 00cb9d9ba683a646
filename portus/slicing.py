"""One page of an ordered list, deep in it, without carrying every skipped row through the list's joins.

A page at OFFSET n of a queryset with joins (select_related) and annotations makes the database build and
drop n full rows. `deep_slice` reads the page's keys first, in the same order, through the narrowest query
(the keys only: no joins but those the filter and the order need), then the page's rows by those keys, in one
statement: `WHERE pk IN (SELECT pk … ORDER BY … LIMIT per_page OFFSET n) ORDER BY …`. The rows are the ones
the plain slice returns, in its order (the ordering is the queryset's own, inside and out).
"""

from __future__ import annotations

from django.db.models import Field, QuerySet, Subquery
from django.db.models.query import ModelIterable
from django.db.models.sql.datastructures import Join
from django.db.models.sql.where import WhereNode

# Below this offset a page is read as it is: the rows skipped cost less than the second look-up.
DEFERRED_FROM = 200


def deferrable(queryset) -> bool:
    """An ordered queryset of model rows whose page may be found by its keys: not grouped, distinct, combined
    or sliced already."""
    if not isinstance(queryset, QuerySet) or queryset._iterable_class is not ModelIterable:
        return False
    query = queryset.query
    return (queryset.ordered and query.group_by is None and not query.distinct and not query.combinator
            and not query.is_sliced)


def deep_slice(queryset, start: int, stop: int):
    """`queryset[start:stop]` (lazy, as a slice is): the same rows in the same order, cheaper deep in a list."""
    if start < DEFERRED_FROM or stop <= start or not deferrable(queryset):
        return queryset[start:stop]
    keys = queryset.values("pk")[start:stop]
    return _by_keys(queryset).filter(pk__in=Subquery(keys))


def _by_keys(queryset):
    """The queryset without its filter when the keys alone select its rows: every join it holds follows a
    foreign key forwards (one row at most per row, and each key found passed them all already), so the
    database looks the page's keys up instead of filtering the whole table again around them."""
    query = queryset.query
    if any(isinstance(join, Join) and not isinstance(join.join_field, Field) for join in query.alias_map.values()):
        return queryset
    unfiltered = queryset.all()
    unfiltered.query.where = WhereNode()
    return unfiltered


# A part of `merged_slice` longer than this is not merged: its list is sliced as it is (deep_slice).
FEW_AT_MOST = 500


def merged_slice(queryset, walked, few, start: int, stop: int, *, shape=None) -> list:
    """Rows [start:stop) of `queryset`, which selects exactly the rows of `walked` and of `few`: two disjoint
    querysets of its model, in its order (a total one), `walked` long but cheap to read in order (an index
    walk), `few` short. Three queries, whatever the depth: the keys of the first `stop` rows of `few`; the keys
    of `walked` from `start - len(few keys)` to `stop`; and the rows of all those keys, in the queryset's
    order, read through `shape` (the list's select_related, fields and order without its filter, the keys
    being the filter). The i-th of those stands at `first + i` of the whole list (`first` being where the
    `walked` keys start) from the first of `walked` on, and the page starts past every earlier row of `few`;
    the database orders, so no collation is compared here. A `few` longer than FEW_AT_MOST rows is not
    merged: the page is `deep_slice(queryset, start, stop)` then (one query fewer)."""
    if stop <= start:
        return []
    few_keys = list(few.values_list("pk", flat=True)[: min(stop, FEW_AT_MOST + 1)])
    if len(few_keys) > FEW_AT_MOST:
        return list(deep_slice(queryset, start, stop))
    first = max(0, start - len(few_keys))
    keys = list(walked.values_list("pk", flat=True)[first:stop])
    rows = list((queryset if shape is None else shape).filter(pk__in=keys + few_keys))
    return rows[start - first : stop - first]
