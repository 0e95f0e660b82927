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
