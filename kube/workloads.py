"""What KubeAI runs for a Model (its Pods, cache Jobs and PVC), and the objects a local
fleet needs (Nodes, volumes, KubeAI's ServiceAccount and ConfigMap).

Objects are plain dicts as the API server returns them; every function takes the `Caller`
it acts as and raises only `kube.errors` exceptions.
"""

from __future__ import annotations

import re
from typing import Any

from kubernetes import client, utils

from kube import errors
from kube.calls import call
from kube.cluster import Caller
from kube.models import event_time, list_model_events
from modelspec.names import is_dns_subdomain

Obj = dict[str, Any]

# KubeAI's names (internal/modelcontroller): pods `model-<name>-<spec hash>-<random>`,
# Jobs `load-cache-<name>` / `evict-cache-<name>`, and per cache profile one shared PVC.
_POD_SUFFIX = re.compile(r"^[a-z0-9]+-[a-z0-9]{5}$")


def model_pod_selector(name: str) -> str:
    return f"model={name}"


def list_model_pods(caller: Caller, namespace: str, name: str) -> list[Obj]:
    """The Pods KubeAI runs for this model (label model=<name>), oldest first."""
    body = call(caller, client.CoreV1Api(caller.api).list_namespaced_pod, namespace,
                label_selector=model_pod_selector(name), verb="list", resource="pods",
                namespace=namespace, raw=True)
    items: list[Obj] = body.get("items", [])
    items.sort(key=lambda p: str(p["metadata"].get("creationTimestamp") or ""))
    return items


def is_model_pod_name(model: str, pod: str) -> bool:
    prefix = f"model-{model}-"
    return pod.startswith(prefix) and bool(_POD_SUFFIX.match(pod[len(prefix):]))


def cache_pvc_name(model: Obj) -> str | None:
    """The PVC holding this model's cache (KubeAI shares one per shared-filesystem profile)."""
    profile = (model.get("spec") or {}).get("cacheProfile")
    name = f"shared-model-cache-{profile}" if profile else None
    # A cacheProfile no PVC could be named after (the CRD does not constrain it) names no
    # PVC: never put it into a field selector, where "=" or "," would break the query.
    return name if is_dns_subdomain(name) else None


def list_workload_events(caller: Caller, model: Obj, limit: int = 50) -> list[Obj]:
    """Events of the model and of what KubeAI runs for it, newest first.

    KubeAI itself emits no events on Models; the useful ones (FailedScheduling, a Job's
    completion, a PVC that cannot bind) are on its Pods, its cache loader and evictor Jobs
    and its cache PVC. Read as the caller: a Forbidden on events is raised as such.
    """
    metadata = model["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    core = client.CoreV1Api(caller.api)

    def events(kind: str, object_name: str | None = None) -> list[Obj]:
        selector = f"involvedObject.kind={kind}"
        if object_name:
            selector += f",involvedObject.name={object_name}"
        body = call(caller, core.list_namespaced_event, namespace, field_selector=selector,
                    verb="list", resource="events", namespace=namespace, raw=True)
        return list(body.get("items", []))

    found = list_model_events(caller, namespace, name, limit)
    found += [e for e in events("Pod")
              if is_model_pod_name(name, (e.get("involvedObject") or {}).get("name", ""))]
    for job in (f"load-cache-{name}", f"evict-cache-{name}"):
        found += events("Job", job)
    pvc = cache_pvc_name(model)
    if pvc:
        found += events("PersistentVolumeClaim", pvc)
    found.sort(key=event_time, reverse=True)
    return found[:limit]


def create_objects(caller: Caller, objects: list[Obj]) -> None:
    """Create each object (any kind); ones that exist already are left alone."""
    for obj in objects:
        try:
            utils.create_from_dict(caller.api, obj)
        except utils.FailToCreateError as failure:
            for exc in failure.api_exceptions:
                if exc.status != 409:
                    raise errors.KubeError(
                        f"Creating {obj['kind']} {obj['metadata']['name']!r} failed: "
                        f"{exc.reason}") from None


def list_nodes(caller: Caller, label_selector: str = "") -> list[Obj]:
    body = call(caller, client.CoreV1Api(caller.api).list_node, label_selector=label_selector,
                verb="list", resource="nodes", raw=True)
    return list(body.get("items", []))
