"""KubeAI's cache loader Job and cache PVC of a Model, read on demand as the caller."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from kube import errors
from kube.calls import call
from kube.cluster import Caller

Obj = dict[str, Any]


def cache_load_job_name(model_name: str) -> str:
    """KubeAI's loader Job for a model with a cache profile (loadCacheJobName)."""
    return f"load-cache-{model_name}"


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
