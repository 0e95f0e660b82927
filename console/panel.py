"""What the console adds to the detail page and the change list (context for its templates)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest

import kube
from console import prompt
from console.diagnosis import diagnose
from console.managed import managed_by
from kube.watches import fleet
from models_ui.presenters import SCALED_TO_ZERO, ModelRow

Obj = dict[str, Any]


def scale_rights(caller: kube.Caller, namespace: str) -> bool:
    """May the caller patch models/scale in this namespace (remembered briefly)?"""
    try:
        return kube.allowed(caller, "patch", namespace, subresource="scale")
    except kube.KubeError:
        return False


def may_update(caller: kube.Caller, namespace: str) -> bool:
    try:
        return kube.allowed(caller, "update", namespace)
    except kube.KubeError:
        return False


def panel_etag(caller: kube.Caller, model: Obj) -> str:
    """Changes when the model, its pods, the nodes, events, the config or the rights do."""
    source = fleet()
    namespace = (model.get("metadata") or {}).get("namespace", "")
    parts = (model["metadata"].get("resourceVersion"),
             [c.version for c in source.caches],
             scale_rights(caller, namespace), may_update(caller, namespace),
             caller.identity.pool_key)
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def panel_context(request: HttpRequest, model: Obj, etag: str = "") -> dict[str, Any]:
    caller: kube.Caller = request.kube  # type: ignore[attr-defined]
    row = ModelRow(model)
    can_scale = scale_rights(caller, row.namespace)
    desired = row.desired_replicas if row.desired_replicas is not None else row.all_replicas
    autoscaling = not row.spec.get("autoscalingDisabled")
    return {
        "row": row, "diagnosis": diagnose(caller, model), "etag": etag or panel_etag(caller, model),
        "can_scale": can_scale, "can_update": may_update(caller, row.namespace),
        "replicas": desired, "wake_to": max(1, row.min_replicas or 0),
        "autoscaling": autoscaling, "scaled_to_zero": row.state == SCALED_TO_ZERO,
        "prompt_kind": prompt.prompt_kind(row.features),
        "request": request,
    }


def badge(caller: kube.Caller, model: Obj) -> tuple[str, str] | None:
    """The change list's warning badge: (level, sentence) for models that are not fine."""
    row = ModelRow(model)
    if row.state in ("ready", SCALED_TO_ZERO):
        return None
    diagnosis = diagnose(caller, model, read_workloads=False)
    if diagnosis.level != "warning" and not diagnosis.contradictions:
        return None
    return "warning", diagnosis.verdict


def managed_note(model: Obj) -> str | None:
    return managed_by(model)
