"""Template helpers for the model form."""

from __future__ import annotations

from typing import Any

from django import forms, template

register = template.Library()


@register.filter
def bound_field(form: forms.Form, name: str) -> forms.BoundField:
    return form[name]


@register.filter
def readonly_reason(form: Any, name: str) -> str:
    return str(getattr(form, "readonly_reasons", {}).get(name, ""))


@register.filter
def formset(form: Any, prefix: str) -> Any:
    return form.formsets[prefix]


@register.filter
def row_errors(form: Any, prefix: str) -> list[str]:
    return list(form.row_errors.get(prefix, []))


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def age(created: Any) -> str:
    """A kubectl-style age: 45s, 12m, 5h, 3d."""
    if created is None:
        return ""
    from django.utils import timezone

    seconds = max(0, int((timezone.now() - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@register.filter
def timestamp(value: Any) -> Any:
    """An RFC 3339 time from the API server ("2026-11-28T17:02:11Z") as a datetime."""
    import datetime

    if isinstance(value, datetime.datetime) or not value:
        return value or None
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@register.filter
def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff's lines with their kind (add, del, hunk, file or same), for colours."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append((kind, line))
    return lines
