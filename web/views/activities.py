"""Activity pages of one namespace and of one user: the admin log's filters and keyset pages, narrowed to
what the viewer may see (Activity.objects.visible_to, through the one policy)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from accounts.models import User
from namespaces import policy
from namespaces.models import Namespace
from web.views import keyset_paginate, ui_login_required
from web.views.admin_activities import _filtered
from web.views.browse_common import browsable, visible_or_404

RELATED = ("owner", "namespace", "namespace__registry", "team")


def _page(request, *, narrow: dict, template: str, context: dict):
    form, queryset = _filtered(request)
    page = keyset_paginate(request, queryset.filter(**narrow).select_related(*RELATED))
    return render(request, template, {"form": form, "page": page, **context},
                  status=400 if form.errors else 200)


@browsable
def namespace_activities(request, pk: int):
    """What happened in a namespace; whoever may open the namespace's page, and only what they may see."""
    namespace = visible_or_404(Namespace.objects.visible_to(request.user).select_related("registry", "team"), pk=pk)
    return _page(request, narrow={"namespace": namespace}, template="activities/namespace.html",
                 context={"namespace": namespace})


@ui_login_required
def user_activities(request, pk: int):
    """What a user did, as far as the viewer may see it: themselves, an admin, or someone sharing a team."""
    subject = User.objects.filter(pk=pk).first()
    if subject is None or not policy.can_see_user(request.user, subject):
        raise Http404("Not found, or not visible to you.")
    return _page(request, narrow={"owner": subject}, template="activities/user.html",
                 context={"subject": subject, "own": subject.pk == request.user.pk})
