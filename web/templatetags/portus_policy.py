"""Template filters that ask the permission policy (namespaces.policy) about the user."""

from __future__ import annotations

from django import template

from namespaces import policy

register = template.Library()


@register.filter
def is_admin(user) -> bool:
    """{% if user|is_admin %}: shows the Admin menu."""
    return policy.is_admin(user)


@register.filter
def can_use_ui(user) -> bool:
    return policy.can_use_ui(user)


@register.filter
def can_create_team(user) -> bool:
    return policy.can_create_team(user)
