"""The admin's view of a user's second factors: {% load twofactor_tags %}{% twofactor_admin subject %}."""

from __future__ import annotations

from django import template

from twofactor.enforcement import required_for
from twofactor.models import Passkey, TotpDevice

register = template.Library()


@register.inclusion_tag("twofactor/_admin_user.html", takes_context=True)
def twofactor_admin(context, subject):
    return {
        "subject": subject,
        "has_totp": TotpDevice.objects.filter(user=subject, confirmed_at__isnull=False).exists(),
        "passkeys": Passkey.objects.filter(user=subject).count(),
        "required": required_for(subject),
        "csrf_token": context.get("csrf_token"),
    }
