"""What the browsing pages share: who may open them, finding a visible object, bounded pagination."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.utils.functional import cached_property

from portus.options import option
from portus.slicing import deep_slice
from web.views import ui_login_required

# Lists count at most this many rows; past it they say "10,000+" and stop at that page, so that a page of
# a huge list costs the same as a page of a small one. Search narrows a list down.
LIST_CAP = 10_000


def browsable(view):
    """Signed-in UI users; anonymous visitors too when anonymous browsing is on.

    An anonymous visitor who asks for something they may not see (or that does not exist) is sent to the
    sign-in page rather than told it is missing.
    """
    signed_in = ui_login_required(view)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated or not option("anonymous_browsing.enabled"):
            return signed_in(request, *args, **kwargs)
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return redirect_to_login(request.get_full_path())

    return wrapper


def visible_or_404(queryset, **lookup):
    """The one object the (visibility-filtered) queryset holds for the lookup; 404 when it holds none."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404("Not found, or not visible to you.")
    return found


class CappedPaginator(Paginator):
    """A paginator whose count stops at `cap` rows (a bounded COUNT over a LIMITed subquery)."""

    def __init__(self, *args, cap: int = LIST_CAP, rows=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cap = cap
        self.rows = rows or deep_slice

    @cached_property
    def _counted(self) -> int:
        # No ORDER BY: the order does not change a count, and sorting every row would. Only the key is read,
        # except from a grouped list (values().annotate()), whose rows are the groups.
        rows = self.object_list.order_by()
        if rows.query.group_by is None:
            rows = rows.values("pk")
        return rows[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap

    def page(self, number):
        """Django's page, its rows read by `rows` (by default by their keys first when it lies deep:
        portus/slicing.py)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.rows(self.object_list, bottom, top), number, self)


def page_url(request, param: str, number: int) -> str:
    """This page's address with another page number of one list (the other lists keep theirs)."""
    params = request.GET.copy()
    params[param] = str(number)
    return f"?{params.urlencode()}"


def paginate(request, queryset, *, param: str = "page", per_page: int | None = None, cap: int = LIST_CAP,
             rows=None):
    """One numbered page of `queryset`, read from `?<param>=`: two queries, a bounded count and the rows
    (`rows(queryset, start, stop)` reads them, when given).

    The page carries what templates/_pagination.html shows (links, previous_url, next_url) and `capped`.
    """
    paginator = CappedPaginator(queryset, per_page or option("pagination.per_page"), cap=cap, rows=rows)
    page = paginator.get_page(request.GET.get(param))
    page.capped = paginator.capped
    page.links = [
        (number, None if number in (page.number, paginator.ELLIPSIS) else page_url(request, param, number))
        for number in paginator.get_elided_page_range(
            page.number, on_each_side=option("pagination.before_after"), on_ends=1
        )
    ]
    page.previous_url = page_url(request, param, page.number - 1) if page.has_previous() else None
    page.next_url = page_url(request, param, page.number + 1) if page.has_next() else None
    return page


def form_errors_from(form, error: ValidationError) -> None:
    """Puts a service's ValidationError on the form: on its field when the form has it, else on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def flash_errors(request, error: ValidationError) -> None:
    for text in error.messages:
        messages.error(request, text)
