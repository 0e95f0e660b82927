"""What the console adds to the detail page and the change list (context for its templates)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest

import kube
from console import prompt
from console.diagnosis import diagnose
from console.managed import managed_by
from kube.cache import synced_snapshot
from kube.models import event_time
from kube.watches import fleet
from kube.workloads import is_model_pod_name
from models_ui.presenters import SCALED_TO_ZERO, ModelRow
from modelspec.schema import API_VERSION, KIND

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
    """A digest of exactly what the panel shows this caller: the model as the caller may
    get it, the diagnosis made with the caller's rights (pods, reasons, fit, verdict) and
    those rights; so nothing the caller may not see (another namespace's pods, events or
    models) changes it. The cache loader Job and PVC rows are read from the API server
    only when the panel is rendered, not for the ETag, so a poll costs the API server
    nothing; a change of theirs shows with the next change of anything else."""
    metadata = model.get("metadata") or {}
    namespace = str(metadata.get("namespace", ""))
    shown = (namespace, metadata.get("name"), metadata.get("resourceVersion"),
             diagnose(caller, model, read_workloads=False),
             scale_rights(caller, namespace), may_update(caller, namespace))
    return '"' + hashlib.sha256(repr(shown).encode()).hexdigest()[:32] + '"'


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


def polled_model(caller: kube.Caller, namespace: str, name: str) -> Obj:
    """A model for a polling page: from the watch cache, when the caller may get it."""
    if not kube.allowed(caller, "get", namespace):
        raise kube.Forbidden(f"Forbidden: you may not get models.kubeai.org in namespace "
                             f"{namespace!r}.", verb="get", resource="models.kubeai.org",
                             namespace=namespace)
    model = synced_snapshot().get(namespace, name)
    if model is None:  # gone, or not in the cache yet: only the API server can tell
        return kube.get_model(caller, namespace, name)
    return model


def polled_model_events(caller: kube.Caller, namespace: str, name: str,
                        limit: int = 20) -> list[Obj]:
    """The model's events for a polling page, from the watch cache (as list_model_events
    orders them); Forbidden when the caller may not list events there."""
    if not kube.allowed(caller, "list", namespace, resource="events", group=""):
        raise kube.Forbidden(f"Forbidden: you may not list events in namespace {namespace!r}.",
                             verb="list", resource="events", namespace=namespace)
    source = fleet()
    if not source.events[KIND].wait_synced(2.0):
        return kube.list_model_events(caller, namespace, name, limit=limit)
    events = [e for e in source.events_of(namespace, KIND, name)
              if (e.get("involvedObject") or {}).get("apiVersion", API_VERSION) == API_VERSION]
    events.sort(key=event_time, reverse=True)
    return events[:limit]


def polled_workload_events(caller: kube.Caller, model: Obj, limit: int = 20) -> list[Obj]:
    """kube.list_workload_events for a polling page, from the watch caches: the Model's
    events and those of its pods, its cache loader/evictor Jobs and its cache PVC."""
    metadata = model["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    found = polled_model_events(caller, namespace, name, limit)
    source = fleet()
    if not all(source.events[kind].wait_synced(2.0) for kind in ("Pod", "Job",
                                                                  "PersistentVolumeClaim")):
        return kube.list_workload_events(caller, model, limit)
    found += [e for e in source.events["Pod"].items()
              if (e.get("involvedObject") or {}).get("namespace") == namespace
              and is_model_pod_name(name, str((e.get("involvedObject") or {}).get("name", "")))]
    for job in (f"load-cache-{name}", f"evict-cache-{name}"):
        found += source.events_of(namespace, "Job", job)
    profile = (model.get("spec") or {}).get("cacheProfile")
    if profile:
        found += source.events_of(namespace, "PersistentVolumeClaim",
                                  f"shared-model-cache-{profile}")
    found.sort(key=event_time, reverse=True)
    return found[:limit]
