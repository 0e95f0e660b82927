"""The Model's scale subresource (RBAC: models/scale), as the caller."""

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
