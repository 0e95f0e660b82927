"""How big a Model document may be, for the YAML form and the REST API's JSON alike.

A Model is a few kilobytes nested about six deep; these caps leave a wide margin (ten
100 kB files, thousands of args) while bounding what one request can make a worker do.
"""

from __future__ import annotations

from typing import Any

MAX_DOCUMENT_CHARACTERS = 1024 * 1024
MAX_DOCUMENT_NODES = 20_000
MAX_DOCUMENT_DEPTH = 64


def shape_problem(value: Any) -> str | None:
    """Why a parsed JSON value is too large or too deep, or None (iterative: no recursion)."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_DOCUMENT_NODES:
            return f"The document has more than {MAX_DOCUMENT_NODES:,} values; a Model needs far fewer."
        if depth > MAX_DOCUMENT_DEPTH:
            return f"The document nests more than {MAX_DOCUMENT_DEPTH} levels deep."
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None
