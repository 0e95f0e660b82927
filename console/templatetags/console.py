"""Hooks the models_ui templates include: the detail panel, the list's badge and actions."""

from __future__ import annotations

from typing import Any

from django import template

from console.panel import badge, managed_note, panel_context, scale_rights
from models_ui.presenters import ModelRow

register = template.Library()


@register.inclusion_tag("console/includes/detail.html", takes_context=True)
def console_detail(context: Any, row: ModelRow) -> dict[str, Any]:
    request = context["request"]
    data = panel_context(request, row.obj)
    data["managed"] = managed_note(row.obj)
    return data


@register.inclusion_tag("console/includes/managed.html")
def console_managed(model: dict[str, Any] | None) -> dict[str, Any]:
    return {"managed": managed_note(model) if model else None, "model": model}


@register.inclusion_tag("console/includes/badge.html", takes_context=True)
def console_badge(context: Any, row: ModelRow) -> dict[str, Any]:
    found = badge(context["request"].kube, row.obj)
    return {"badge": found, "row": row}


@register.inclusion_tag("console/includes/row_actions.html", takes_context=True)
def console_row_actions(context: Any, row: ModelRow) -> dict[str, Any]:
    request = context["request"]
    return {"row": row, "can_scale": scale_rights(request.kube, row.namespace),
}


@register.inclusion_tag("console/includes/bulk_actions.html", takes_context=True)
def console_bulk_actions(context: Any) -> dict[str, Any]:
    return {}
