"""The Model's scale subresource (RBAC: models/scale), as the caller.

The API server can only read or write a CRD's scale when the object has the field
(.spec.replicas): for a Model without it, it answers 500 ("the spec replicas field
... does not exist"). `set_replicas` then sets the field with a merge patch of the
Model (RBAC: patch models) instead.
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


def set_replicas(caller: Caller, model: Obj, replicas: int) -> str:
    """Scale a model: through the scale subresource when it has spec.replicas, else by
    patching the Model. Returns "scale" or "patch" (the way taken)."""
    metadata = model.get("metadata") or {}
    namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
    if "replicas" in (model.get("spec") or {}):
        scale_model(caller, namespace, name, replicas)
        return "scale"
    if replicas < 0:
        raise errors.BadRequest("Replicas cannot be negative.")
    call(caller, client.CustomObjectsApi(caller.api).patch_namespaced_custom_object, GROUP,
         VERSION, namespace, PLURAL, name, {"spec": {"replicas": replicas}},
         _content_type=MERGE_PATCH, verb="patch", resource=f"{PLURAL}.{GROUP}",
         namespace=namespace, name=name, raw=True)
    return "patch"
