"""Template filters: human sizes, times with exact values, sanitised markdown."""

from __future__ import annotations

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from portus import markdown

register = template.Library()


@register.filter
def human_size(value) -> str:
    """1536 → "1.5 KiB"."""
    try:
        size = float(value or 0)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@register.filter
def when(value):
    """A relative time ("3 minutes ago") with the exact UTC time on hover."""
    if not value:
        return mark_safe('<span class="text-body-secondary">never</span>')  # noqa: S308 - a constant
    return format_html('<time datetime="{}" title="{}">{}</time>',
                       value.isoformat(), value.strftime("%Y-%m-%d %H:%M:%S UTC"), naturaltime(value))


@register.filter(name="markdown")
def markdown_filter(text: str):
    return mark_safe(markdown.render(text))  # noqa: S308 - nh3 has sanitised it


@register.filter
def short_digest(digest: str) -> str:
    if not digest:
        return ""
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]


@register.simple_tag
def several_registries() -> bool:
    """Whether more than one registry is known, so pages name each namespace's (from this process's copy of
    the small registries table: no query per page)."""
    from registries.models import directory

    return len({registry.pk for registry in directory().by_host.values()}) > 1
