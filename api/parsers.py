"""Request body parsers of the API: DRF's, bounded in nesting depth, so a hostile body is a 400, never a 500."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No API body nests deeper than a few levels ({"user": {"username": …}}); 32 leaves room and keeps every
# recursive walk over a body (validation, serializers) far from Python's recursion limit.
MAX_DEPTH = 32
TOO_DEEP = f"The body nests deeper than {MAX_DEPTH} levels."


def deeper_than(data, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects in `data` nest more than `limit` levels (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class PortusJSONParser(JSONParser):
    """DRF's JSON parser; a body nested too deeply for the decoder (RecursionError) or for us is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from exc
        if deeper_than(data):
            raise ParseError(f"JSON parse error - {TOO_DEEP}")
        return data
