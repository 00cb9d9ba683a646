"""Admin page listing every team: members, namespaces and owners, a fixed number of queries per page."""

from __future__ import annotations

from django import forms
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.shortcuts import render

from namespaces.models import Namespace
from teams.models import Role, Team, TeamMember
from web.forms import BootstrapMixin
from web.views import admin_required, paginate

ADMIN_PER_PAGE = 50
# How many owners and namespace names a row names (the rest are counted).
NAMED_PER_ROW = 3


class TeamSearchForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Team name"}))


def _first_per_team(queryset, order: str, ids: list[int]) -> dict[int, list]:
    """The first NAMED_PER_ROW rows of `queryset` per team of `ids`, in one query (a window function)."""
    ranked = (queryset.filter(team_id__in=ids)
              .annotate(rank=Window(RowNumber(), partition_by=[F("team_id")], order_by=F(order).asc()))
              .filter(rank__lte=NAMED_PER_ROW).order_by("team_id", "rank"))
    rows: dict[int, list] = {}
    for row in ranked:
        rows.setdefault(row.team_id, []).append(row)
    return rows


def annotate_teams(teams: list[Team]) -> None:
    """Sets on each team of a page its counts, first owners and first namespaces: four queries in all."""
    ids = [team.pk for team in teams]
    if not ids:
        return
    counts = {team_id: (n, owners) for team_id, n, owners in
              TeamMember.objects.filter(team_id__in=ids).order_by().values("team_id")
              .annotate(n=Count("id"), owners=Count("id", filter=Q(role=Role.OWNER)))
              .values_list("team_id", "n", "owners")}
    namespaces_total = dict(Namespace.objects.filter(team_id__in=ids).order_by().values("team_id")
                            .annotate(n=Count("id")).values_list("team_id", "n"))
    owners = _first_per_team(TeamMember.objects.filter(role=Role.OWNER).select_related("user"),
                             "user__username", ids)
    namespaces = _first_per_team(Namespace.objects.select_related("registry"), "name", ids)
    for team in teams:
        team.members_total, owners_total = counts.get(team.pk, (0, 0))
        team.owners = [member.user for member in owners.get(team.pk, [])]
        team.owners_more = owners_total - len(team.owners)
        team.namespace_list = namespaces.get(team.pk, [])
        team.namespaces_total = namespaces_total.get(team.pk, 0)
        team.namespaces_more = team.namespaces_total - len(team.namespace_list)


@admin_required
def teams(request):
    """Every team (not the hidden ones that hold personal and global namespaces), searchable by name."""
    form = TeamSearchForm(request.GET or None)
    queryset = Team.objects.filter(hidden=False).order_by("name")
    if form.is_valid() and form.cleaned_data["q"].strip():
        queryset = queryset.filter(name__icontains=form.cleaned_data["q"].strip())
    page = paginate(request, queryset, per_page=ADMIN_PER_PAGE)
    annotate_teams(list(page.object_list))
    return render(request, "admin/teams.html", {"form": form, "page": page})
