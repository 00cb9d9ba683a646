"""Search over repositories, namespaces and teams, and the public repositories for anyone (explore)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.shortcuts import render

from namespaces.models import Namespace, Repository
from teams.models import Team
from web.views.browse_common import browsable, paginate
from web.views.browse_namespaces import count_repositories
from web.views.browse_repositories import listed

MAX_QUERY_LENGTH = 100


def _query(request) -> str:
    return " ".join(request.GET.get("q", "").split())[:MAX_QUERY_LENGTH]


# A text that at most this many namespaces' names hold is looked up by their ids (one short query first), so
# that the database finds the repositories through two indexes — the trigrams of their names and their
# namespace — instead of joining and reading every repository. A text more namespaces hold is broad: its
# matches come first along the list's order, and the join is as fast.
NAMESPACES_BY_ID = 200


def _in_namespaces_named(text: str) -> Q:
    ids = list(Namespace.objects.filter(name__icontains=text).order_by().values_list("pk", flat=True)
               [: NAMESPACES_BY_ID + 1])
    if len(ids) > NAMESPACES_BY_ID:
        return Q(namespace__name__icontains=text)
    return Q(namespace_id__in=ids)


def repository_filter(query: str) -> Q:
    """Matches the repository's name or its namespace's; `team/app` matches both parts."""
    match = Q(name__icontains=query) | _in_namespaces_named(query)
    namespace_part, slash, name_part = query.partition("/")
    if slash and namespace_part and name_part:
        match |= _in_namespaces_named(namespace_part) & Q(name__icontains=name_part)
    return match


@browsable
def search(request):
    query = _query(request)
    context = {"query": query}
    if query:
        user = request.user
        namespaces = paginate(
            request,
            Namespace.objects.visible_to(user).select_related("registry", "team").filter(name__icontains=query),
            param="namespaces_page",
        )
        count_repositories(namespaces.object_list, user)
        context.update({
            "repositories": paginate(request, listed(Repository.objects.visible_to(user).filter(
                repository_filter(query)))),
            "namespaces": namespaces,
            "teams": paginate(request, Team.objects.visible_to(user).filter(name__icontains=query).order_by("name"),
                              param="teams_page"),
        })
    return render(request, "search/index.html", context)


@browsable
def explore(request):
    """Public repositories that hold images (what anyone may pull), the most recently pushed first.

    Newest first along the index on pushed_at; a repository without tags has nothing to pull and no push time.
    """
    query = _query(request)
    public = Repository.objects.visible_to(AnonymousUser()).filter(pushed_at__isnull=False)
    if query:
        public = public.filter(repository_filter(query))
    page = paginate(request, listed(public).order_by("-pushed_at", "-id"))
    return render(request, "search/explore.html", {"page": page, "query": query})
