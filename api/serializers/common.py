"""Pieces several entities share: markdown fields, `{id, name}` references, counts by subquery."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portus import markdown


@extend_schema_field({"type": "string", "description": "Sanitised HTML of the markdown text."})
class MarkdownField(serializers.ReadOnlyField):
    """Sanitised HTML rendered from the attribute named by `source`."""

    def to_representation(self, value) -> str:
        return markdown.render(value or "")


class ReferenceSerializer(serializers.Serializer):
    """`{id, name}` of a related object."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class StatusSerializer(serializers.Serializer):
    """The answer of the /validate endpoints."""

    messages = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), read_only=True)
    valid = serializers.BooleanField(read_only=True)

    class Meta:
        ref_name = "Status"


def count_of(queryset, outer_field: str, *, ref: str = "pk"):
    """A correlated COUNT of `queryset` rows whose `outer_field` is the outer row's `ref` (0 when none)."""
    counted = (
        queryset.filter(**{outer_field: OuterRef(ref)})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
