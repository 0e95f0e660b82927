"""What one caller may see and do: namespaces, models and rights, for the UI's pages.

Lists come from the shared watch cache (kube.cache), which runs with kmm's own
identity; each caller sees only the namespaces in which the API server says
they may list models (access reviews, remembered briefly). Single objects and
every write go to the API server with the caller's own identity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings

import kube
from kube.cache import synced_snapshot
from kube.podreason import pod_problem, warnings_of
from kube.watches import fleet
from models_ui.presenters import NOT_READY, READY, SCALED_TO_ZERO, ModelRow

Obj = dict[str, Any]
CACHE_WAIT_SECONDS = 5.0


def _known_namespaces() -> tuple[str, ...]:
    return synced_snapshot(CACHE_WAIT_SECONDS).namespaces


def visible_namespaces(caller: kube.Caller) -> list[str]:
    """Namespaces for the switcher: all, for those who may list them; otherwise the
    configured (KMM_NAMESPACES) or known namespaces in which the caller may list models."""
    known = _known_namespaces()
    if kube.allowed(caller, "list", resource="namespaces", group=""):
        return list(known)
    return kube.listable_namespaces(caller, settings.KMM_NAMESPACES or known)


def creatable_namespaces(caller: kube.Caller) -> list[str] | None:
    """Namespaces in which the caller may create models, for the add form's choice; None
    when the caller may not list namespaces and none are configured (the form then takes
    free text, checked when saved)."""
    if not settings.KMM_NAMESPACES and not kube.allowed(caller, "list", resource="namespaces",
                                                        group=""):
        return None
    candidates = visible_namespaces(caller)
    if kube.allowed(caller, "create"):
        return candidates
    return [ns for ns in candidates if kube.allowed(caller, "create", ns)]


def visible_models(caller: kube.Caller, namespace: str | None) -> tuple[list[Obj], int]:
    """Models of one namespace, or of every namespace the caller may list models in,
    with the cache version they come from."""
    snapshot = synced_snapshot(CACHE_WAIT_SECONDS)
    if namespace:
        kube.require_list(caller, namespace)
        return list(snapshot.in_namespace(namespace)), snapshot.version
    if kube.allowed(caller, "list"):
        return list(snapshot.models), snapshot.version
    models = [m for ns in visible_namespaces(caller) for m in snapshot.in_namespace(ns)]
    return models, snapshot.version


@dataclass(frozen=True)
class Rights:
    """Whether the caller may add, change or delete models, per namespace (cached briefly)."""

    caller: kube.Caller

    def can_add(self, namespace: str | None) -> bool:
        return kube.allowed(self.caller, "create", namespace)

    def can_change(self, namespace: str) -> bool:
        return kube.allowed(self.caller, "patch", namespace)

    def can_delete(self, namespace: str) -> bool:
        return kube.allowed(self.caller, "delete", namespace)

    def for_namespaces(self, namespaces: set[str]) -> dict[str, dict[str, bool]]:
        return {ns: {"change": self.can_change(ns), "delete": self.can_delete(ns)}
                for ns in namespaces}


# --- why a model is not ready: from the pod watch cache ---------------------------------

def may_list(caller: kube.Caller, resource: str, namespace: str | None = None,
             group: str = "") -> bool:
    """May the caller list this resource (in the namespace)? No answer counts as no."""
    try:
        return kube.allowed(caller, "list", namespace, resource=resource, group=group)
    except kube.KubeError:
        return False


def explain_not_ready(caller: kube.Caller, rows: list[ModelRow]) -> None:
    """Give each Not-ready row the reason its pods give (e.g. the scheduler's), read from
    kmm's pod watch cache: a polling page costs the API server nothing. A caller who may not
    list pods in a row's namespace gets the state alone; one who may not list events there
    gets the pods' reasons without their Warning events."""
    source = fleet()
    for row in rows:
        if row.state != NOT_READY or not may_list(caller, "pods", row.namespace):
            continue
        if not source.pods.wait_synced(CACHE_WAIT_SECONDS):
            return  # kmm cannot watch pods: state alone
        pods = source.pods.lookup(row.namespace, row.name)
        warnings: dict[str, tuple[Obj, ...]] = {}
        if may_list(caller, "events", row.namespace):
            for pod in pods:
                name = str(pod["metadata"].get("name", ""))
                warnings[name] = warnings_of(source.events_of(row.namespace, "Pod", name))
        row.not_ready_reason = pod_problem(pods, warnings)


def pods_fingerprint(caller: kube.Caller, models: list[Obj]) -> str:
    """Changes when what a not-fine row shows beyond the model may change (its pods'
    reason, the console's badge), from the watch caches and only from what this caller may
    see (as kube.visible_version): the pods and their events in namespaces where they may
    list them, the nodes if they may list them, KubeAI's config. "" when every model is fine."""
    unfine = [ModelRow(m) for m in models if ModelRow(m).state not in (READY, SCALED_TO_ZERO)]
    if not unfine:
        return ""
    source = fleet()
    digest = hashlib.sha256()
    for row in unfine:
        if not may_list(caller, "pods", row.namespace):
            continue
        events = may_list(caller, "events", row.namespace)
        for pod in source.pods.lookup(row.namespace, row.name):
            pod_name = str(pod["metadata"].get("name", ""))
            digest.update(f"{row.key}/{pod_name}@{pod['metadata'].get('resourceVersion')};"
                          .encode())
            for event in source.events_of(row.namespace, "Pod", pod_name) if events else ():
                digest.update(f"{event['metadata'].get('uid')}@"
                              f"{event['metadata'].get('resourceVersion')};".encode())
    if may_list(caller, "nodes"):
        digest.update(f"nodes@{source.nodes.version};".encode())
    if source.config is not None:
        digest.update(f"config@{source.config.version};".encode())
    return digest.hexdigest()[:12]
