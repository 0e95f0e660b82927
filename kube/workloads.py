"""What KubeAI runs for a Model, read with the caller's identity, and its scale subresource.

The pods come from kube.watches (a watch cache); the cache loader Job and the
cache PVC (only when a cache profile is set) are read here on demand.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from kube import errors
from kube.calls import call
from kube.cluster import Caller
from modelspec.schema import GROUP, PLURAL, VERSION

Obj = dict[str, Any]
SCALE = f"{PLURAL}/scale"
MERGE_PATCH = "application/merge-patch+json"


def get_scale(caller: Caller, namespace: str, name: str) -> Obj:
    """The Model's Scale object (autoscaling/v1): spec.replicas and status.replicas."""
    result: Obj = call(caller, client.CustomObjectsApi(caller.api).get_namespaced_custom_object_scale,
                       GROUP, VERSION, namespace, PLURAL, name, verb="get",
                       resource=f"{SCALE}.{GROUP}", namespace=namespace, name=name, raw=True)
    return result


def scale_model(caller: Caller, namespace: str, name: str, replicas: int) -> Obj:
    """Set spec.replicas through the scale subresource (RBAC: patch models/scale), which
    touches nothing else of the Model."""
    if replicas < 0:
        raise errors.BadRequest("Replicas cannot be negative.")
    result: Obj = call(caller,
                       client.CustomObjectsApi(caller.api).patch_namespaced_custom_object_scale,
                       GROUP, VERSION, namespace, PLURAL, name, {"spec": {"replicas": replicas}},
                       _content_type=MERGE_PATCH, verb="patch", resource=f"{SCALE}.{GROUP}",
                       namespace=namespace, name=name, raw=True)
    return result


def cache_load_job_name(model_name: str) -> str:
    """KubeAI's loader Job for a model with a cache profile (loadCacheJobName)."""
    return f"load-cache-{model_name}"


def cache_pvc_name(model_name: str, cache_profile: str) -> str:
    """KubeAI's PVC for a shared-filesystem cache profile (cachePVCName)."""
    return f"shared-model-cache-{cache_profile}"


def get_job(caller: Caller, namespace: str, name: str) -> Obj | None:
    try:
        result: Obj = call(caller, client.BatchV1Api(caller.api).read_namespaced_job, name,
                           namespace, verb="get", resource="jobs.batch", namespace=namespace,
                           name=name, raw=True)
    except errors.NotFound:
        return None
    return result


def get_pvc(caller: Caller, namespace: str, name: str) -> Obj | None:
    try:
        result: Obj = call(caller,
                           client.CoreV1Api(caller.api).read_namespaced_persistent_volume_claim,
                           name, namespace, verb="get", resource="persistentvolumeclaims",
                           namespace=namespace, name=name, raw=True)
    except errors.NotFound:
        return None
    return result
