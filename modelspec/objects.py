"""What of a Model object the server owns, and dotted-path access to its fields.

`strip_server_fields` is the one place that knows which parts of an object a
client never writes: `status` (the status subresource's) and the metadata the
API server fills in. Saves, the YAML tab, diffs and displays call it, each
saying what it keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]

SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")
SERVER_FIELDS = ("status", *(f"metadata.{key}" for key in SERVER_METADATA))


def strip_server_fields(obj: Mapping[str, Any], keep: Iterable[str] = ()) -> Obj:
    """A shallow copy of `obj` without the server-owned fields, except those in `keep`
    (names from SERVER_FIELDS, e.g. "metadata.resourceVersion" or "status")."""
    dropped = set(SERVER_FIELDS) - set(keep)
    out = {k: v for k, v in obj.items() if k not in dropped}
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items()
                       if f"metadata.{k}" not in dropped}
    return out


def get_path(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path ("loadBalancing.strategy"), or None."""
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def has_path(obj: Mapping[str, Any], path: str) -> bool:
    parent_path, _, leaf = path.rpartition(".")
    parent = get_path(obj, parent_path) if parent_path else obj
    return isinstance(parent, Mapping) and leaf in parent


def set_path(obj: Obj, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    obj[leaf] = value


def remove_path(obj: Obj, path: str) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        if not isinstance(obj.get(part), dict):
            return
        obj = obj[part]
    obj.pop(leaf, None)
