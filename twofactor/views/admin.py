"""An admin takes every second factor off an account whose owner lost them."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.models import User
from twofactor.services import factors_reset
from web.views import admin_required


@admin_required
@require_POST
def reset(request, pk: int):
    subject = get_object_or_404(User, pk=pk)
    factors_reset(user=subject, by=request.user)
    messages.success(request, f"Every second factor of {subject.username} is removed.")
    return redirect("admin-user", subject.pk)
