"""JSON merge patches (RFC 7386): the smallest change from one object to another."""

from __future__ import annotations

import re
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


# --- what the caller changed, and whether it collides with what others changed -----------

LINE_BREAK = re.compile(r"\r\n?")
MISSING = object()
Path = tuple[str, ...]


def normalised(value: Any) -> Any:
    """`value` with every line break as "\\n": browsers send a textarea's breaks as CRLF."""
    if isinstance(value, str):
        return LINE_BREAK.sub("\n", value)
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    return value


def user_change(initial: dict[str, Any], submitted: dict[str, Any],
                base: dict[str, Any]) -> dict[str, Any]:
    """The caller's change, as a merge patch: what differs between the object their form
    showed (`initial`, the form's own reading of `base`) and what they submitted.

    Both sides are compared with normalised line breaks, so a field the caller did not
    touch is never sent, whatever its value (an empty `owner`, a chat template with LF
    breaks). A multi-line value the caller did edit keeps the line breaks `base` had there.
    """
    change = merge_patch(normalised(writable(initial)), normalised(writable(submitted)))
    result: dict[str, Any] = _line_breaks_like(change, writable(base))
    return result


def _line_breaks_like(value: Any, base: Any) -> Any:
    if isinstance(value, str):
        crlf = isinstance(base, str) and "\r\n" in base
        return value.replace("\n", "\r\n") if crlf else value
    if isinstance(value, dict):
        return {key: _line_breaks_like(item, base.get(key) if isinstance(base, dict) else None)
                for key, item in value.items()}
    if isinstance(value, list):
        olds = base if isinstance(base, list) else []
        return [_line_breaks_like(item, olds[i] if i < len(olds) else None)
                for i, item in enumerate(value)]
    return value


def changed_paths(patch: dict[str, Any], prefix: Path = ()) -> list[Path]:
    """The leaves a merge patch sets or removes (a list is one leaf, as RFC 7386 has it)."""
    paths: list[Path] = []
    for key, value in patch.items():
        if isinstance(value, dict) and value:
            paths += changed_paths(value, (*prefix, key))
        else:
            paths.append((*prefix, key))
    return paths


def _at(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return MISSING
        obj = obj[key]
    return obj


def _related(a: Path, b: Path) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def overlapping(change: dict[str, Any], base: dict[str, Any],
                current: dict[str, Any]) -> list[Path]:
    """Fields of `change` (made against `base`) that someone else also changed by `current`.

    A field counts when a path the caller changed and a path changed from base to
    current are the same, or one holds the other, and applying the change to current
    would still alter that field (if they made the very same change, nothing is lost).
    Status and server-kept metadata never count: the caller cannot have changed them.
    """
    theirs = changed_paths(change_patch(base, current))
    now = writable(current)
    wanted = apply_merge_patch(now, change)
    return [path for path in changed_paths(change)
            if any(_related(path, other) for other in theirs)
            and _at(now, path) != _at(wanted, path)]


def path_text(path: Path) -> str:
    """A path as the rest of kmm writes it: spec.minReplicas, metadata.annotations[a.io/b]."""
    text = ""
    for key in path:
        text += f"[{key}]" if not IDENTIFIER.match(key) else (f".{key}" if text else key)
    return text


IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
