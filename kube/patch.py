"""JSON merge patches (RFC 7386): the smallest change from one object to another."""

from __future__ import annotations

from typing import Any

from modelspec.objects import strip_server_fields


def merge_patch(original: dict[str, Any], modified: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that turns `original` into `modified`.

    Keys equal in both are left out, so applying the patch rewrites nothing the
    caller did not change. A key missing from `modified` (or set to None there)
    becomes null, which deletes it. Lists are compared whole, as RFC 7386 says.
    """
    patch: dict[str, Any] = {}
    for key in original.keys() | modified.keys():
        new = modified.get(key)
        if new is None:
            if key in original and original[key] is not None:
                patch[key] = None
            continue
        old = original.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            nested = merge_patch(old, new)
            if nested:
                patch[key] = nested
        elif old != new or key not in original:
            patch[key] = new
    return patch


# What a client may write of an object: no status and no metadata the server owns.
writable = strip_server_fields


def change_patch(base: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The caller's change from `base` (the object as read) to `desired`, as a merge patch."""
    return merge_patch(writable(base), writable(desired))


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a merge patch to a copy of `target` (what the API server does)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
