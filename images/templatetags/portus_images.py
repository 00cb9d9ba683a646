"""The storage line of a namespace or repository page: {% load portus_images %}{% storage_line namespace %}."""

from __future__ import annotations

from django import template

from images import storage

register = template.Library()


@register.inclusion_tag("images/_storage_line.html")
def storage_line(namespace, repository=None, can_manage_keys: bool = False):
    usage = storage.scoped_usage(namespace=namespace, repository_id=repository.pk if repository is not None else None)
    return {"usage": usage, "namespace": namespace, "repository": repository, "can_manage_keys": can_manage_keys}
