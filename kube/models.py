"""Operations on KubeAI Models, namespaces and events.

Objects are plain dicts exactly as the API server returns them. Every function
takes the `Caller` it acts as and raises only `kube.errors` exceptions.
"""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client

from kube import errors
from kube.calls import call, list_all
from kube.cluster import Caller
from kube.patch import change_patch
from modelspec.errors import FieldError
from modelspec.schema import API_VERSION, GROUP, KIND, PLURAL, VERSION
from modelspec.schema import RESOURCE as MODELS

Obj = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"


def _custom(caller: Caller) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(caller.api)


def _core(caller: Caller) -> client.CoreV1Api:
    return client.CoreV1Api(caller.api)


def _dry_run(dry_run: bool) -> str | None:
    return "All" if dry_run else None


def list_models(caller: Caller, namespace: str | None = None) -> list[Obj]:
    """Models in one namespace, or in all namespaces when `namespace` is None."""
    return list_models_with_version(caller, namespace)[0]


def list_models_with_version(caller: Caller, namespace: str | None = None) -> tuple[list[Obj], str]:
    """Models plus the list's resourceVersion (where a watch can start from)."""
    api = _custom(caller)
    if namespace:
        items, metadata = list_all(caller, api.list_namespaced_custom_object, GROUP, VERSION,
                                   namespace, PLURAL, resource=MODELS, namespace=namespace)
    else:
        items, metadata = list_all(caller, api.list_cluster_custom_object, GROUP, VERSION,
                                   PLURAL, resource=MODELS)
    return items, str(metadata.get("resourceVersion", ""))


def get_model(caller: Caller, namespace: str, name: str) -> Obj:
    result: Obj = call(caller, _custom(caller).get_namespaced_custom_object, GROUP, VERSION,
                       namespace, PLURAL, name, verb="get", resource=MODELS,
                       namespace=namespace, name=name, raw=True)
    return result


def create_model(caller: Caller, model: Obj, dry_run: bool = False) -> Obj:
    body = copy.deepcopy(model)
    body.setdefault("apiVersion", API_VERSION)
    body.setdefault("kind", KIND)
    namespace = (body.get("metadata") or {}).get("namespace") or ""
    if not namespace:
        raise errors.Invalid("A namespace is required.", errors=[
            FieldError("metadata.namespace", "This field is required.")])
    name = body["metadata"].get("name")
    result: Obj = call(caller, _custom(caller).create_namespaced_custom_object, GROUP, VERSION,
                       namespace, PLURAL, body, dry_run=_dry_run(dry_run), verb="create",
                       resource=MODELS, namespace=namespace, name=name, raw=True)
    return result


def replace_model(caller: Caller, model: Obj, dry_run: bool = False) -> Obj:
    """PUT a whole object. Its metadata.resourceVersion must be the one it was read at."""
    metadata = model.get("metadata") or {}
    namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
    if not metadata.get("resourceVersion"):
        raise errors.Invalid("metadata.resourceVersion is required to replace a model.",
                             errors=[FieldError("metadata.resourceVersion",
                                                  "This field is required.")])
    try:
        result: Obj = call(caller, _custom(caller).replace_namespaced_custom_object, GROUP,
                           VERSION, namespace, PLURAL, name, model, dry_run=_dry_run(dry_run),
                           verb="update", resource=MODELS, namespace=namespace, name=name,
                           raw=True)
    except errors.Conflict as conflict:
        raise _with_current(caller, conflict, namespace, name) from None
    return result


def patch_model(caller: Caller, namespace: str, name: str, patch: Obj,
                resource_version: str | None = None, dry_run: bool = False) -> Obj:
    """Apply a JSON merge patch; with `resource_version`, refuse (409) if the object moved on."""
    body = copy.deepcopy(patch)
    if resource_version:
        body.setdefault("metadata", {})["resourceVersion"] = resource_version
    try:
        result: Obj = call(caller, _custom(caller).patch_namespaced_custom_object, GROUP,
                           VERSION, namespace, PLURAL, name, body, dry_run=_dry_run(dry_run),
                           _content_type=MERGE_PATCH, verb="patch", resource=MODELS,
                           namespace=namespace, name=name, raw=True)
    except errors.Conflict as conflict:
        raise _with_current(caller, conflict, namespace, name) from None
    return result


def update_model(caller: Caller, base: Obj, desired: Obj, dry_run: bool = False) -> Obj:
    """Write the caller's changes from `base` (the object as read) to `desired`.

    Only the difference is sent, as a merge patch pinned to base's
    resourceVersion: fields the caller did not change, including ones this code
    does not know, are never rewritten, and a stale base is refused with 409.
    """
    metadata = base.get("metadata") or {}
    patch = change_patch(base, desired)
    return patch_model(caller, metadata.get("namespace", ""), metadata.get("name", ""), patch,
                       resource_version=metadata.get("resourceVersion"), dry_run=dry_run)


def delete_model(caller: Caller, namespace: str, name: str, resource_version: str | None = None,
                 dry_run: bool = False) -> None:
    options: Obj = {}
    if resource_version:
        options["preconditions"] = {"resourceVersion": resource_version}
    call(caller, _custom(caller).delete_namespaced_custom_object, GROUP, VERSION, namespace,
         PLURAL, name, body=options or None, dry_run=_dry_run(dry_run), verb="delete",
         resource=MODELS, namespace=namespace, name=name, raw=True)


def list_model_events(caller: Caller, namespace: str, name: str, limit: int = 50) -> list[Obj]:
    """Recent events whose involvedObject is this model, newest first."""
    selector = f"involvedObject.kind={KIND},involvedObject.name={name}"
    body = call(caller, _core(caller).list_namespaced_event, namespace,
                field_selector=selector, verb="list", resource="events", namespace=namespace,
                raw=True)
    items = [e for e in body.get("items", [])
             if (e.get("involvedObject") or {}).get("apiVersion", API_VERSION) == API_VERSION]
    items.sort(key=_event_time, reverse=True)
    return items[:limit]


def _event_time(event: Obj) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime")
               or (event.get("metadata") or {}).get("creationTimestamp") or "")


def _with_current(caller: Caller, conflict: errors.Conflict, namespace: str,
                  name: str) -> errors.KubeError:
    try:
        current = get_model(caller, namespace, name)
    except errors.NotFound:
        return errors.NotFound(f"Model {name!r} was deleted in namespace {namespace!r} "
                               "while you were editing it.")
    except errors.KubeError:
        return conflict
    conflict.current = current
    conflict.current_resource_version = current["metadata"].get("resourceVersion")
    return conflict
