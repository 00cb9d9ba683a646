"""One page of an ordered list, deep in it, without carrying every skipped row through the list's joins.

A page at OFFSET n of a queryset with joins (select_related) and annotations makes the database build and
drop n full rows. `deep_slice` reads the page's keys first, in the same order, through the narrowest query
(the keys only: no joins but those the filter and the order need), then the page's rows by those keys, in one
statement: `WHERE pk IN (SELECT pk … ORDER BY … LIMIT per_page OFFSET n) ORDER BY …`. The rows are the ones
the plain slice returns, in its order (the ordering is the queryset's own, inside and out).
"""

from __future__ import annotations

from django.db.models import QuerySet, Subquery
from django.db.models.query import ModelIterable

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
    return queryset.filter(pk__in=Subquery(keys))
