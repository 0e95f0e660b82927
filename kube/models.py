"""Operations on KubeAI Models, namespaces and events.

Objects are plain dicts exactly as the API server returns them. Every function
takes the `Caller` it acts as and raises only `kube.errors` exceptions.
"""

from __future__ import annotations

import copy
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from kube import errors
from kube.calls import call, list_all
from kube.cluster import Caller
from kube.patch import change_patch, changed_paths, overlapping, path_text
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


UNKNOWN_FIELD = re.compile(r'(unknown|duplicate) field "\.?([^"]+)"')


def _write(caller: Caller, fn: Any, *args: Any, **kwargs: Any) -> Obj:
    """A create, replace or patch with strict field validation: a field the installed CRD
    does not have is refused (400, naming it), never silently dropped by pruning."""
    try:
        result: Obj = call(caller, fn, *args, field_validation="Strict", raw=True, **kwargs)
    except (errors.BadRequest, errors.Invalid) as exc:
        found = sorted(set(UNKNOWN_FIELD.findall(exc.message)))
        if not found:
            raise
        raise errors.Invalid(
            "The Model CRD installed in the cluster does not have "
            + ", ".join(path for _, path in found) + ".", status=400, reason="BadRequest",
            errors=[FieldError(path, "Unknown field: the Model CRD installed in the cluster "
                                     "does not have it." if kind == "unknown" else
                                     "Duplicate field.") for kind, path in found]) from None
    return result


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
    return _write(caller, _custom(caller).create_namespaced_custom_object, GROUP, VERSION,
                  namespace, PLURAL, body, dry_run=_dry_run(dry_run), verb="create",
                  resource=MODELS, namespace=namespace, name=name)


def replace_model(caller: Caller, model: Obj, dry_run: bool = False) -> Obj:
    """PUT a whole object. Its metadata.resourceVersion must be the one it was read at."""
    metadata = model.get("metadata") or {}
    namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
    if not metadata.get("resourceVersion"):
        raise errors.Invalid("metadata.resourceVersion is required to replace a model.",
                             errors=[FieldError("metadata.resourceVersion",
                                                  "This field is required.")])
    try:
        result = _write(caller, _custom(caller).replace_namespaced_custom_object, GROUP,
                        VERSION, namespace, PLURAL, name, model, dry_run=_dry_run(dry_run),
                        verb="update", resource=MODELS, namespace=namespace, name=name)
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
        result = _write(caller, _custom(caller).patch_namespaced_custom_object, GROUP,
                        VERSION, namespace, PLURAL, name, body, dry_run=_dry_run(dry_run),
                        _content_type=MERGE_PATCH, verb="patch", resource=MODELS,
                        namespace=namespace, name=name)
    except errors.Conflict as conflict:
        raise _with_current(caller, conflict, namespace, name) from None
    return result


@dataclass
class Applied:
    """A change as stored. `moved_on`: what others had changed meanwhile (besides status
    and server bookkeeping), which the change was applied on top of; `rebased`: whether
    it was applied to a newer version than the one it was made against."""

    model: Obj
    rebased: bool = False
    moved_on: list[str] = field(default_factory=list)


# Re-pins of one change before giving up: each round someone's write lands, so this many
# concurrent writers of other fields can all get through (client-go retries 5 times).
REPIN_ATTEMPTS = 25


def apply_change(caller: Caller, base: Obj, change: Obj, dry_run: bool = False,
                 attempts: int = REPIN_ATTEMPTS) -> Applied:
    """Apply the caller's `change` (a merge patch made against `base`, the object as read).

    It is pinned to base's resourceVersion. When the model has moved on meanwhile, the
    three-way rule decides: if someone else changed a field this change also changes,
    it is refused (Conflict, `fields` naming them) and nothing is overwritten; otherwise
    (a status write, KubeAI setting spec.replicas, any field the caller left alone) the
    change is pinned to the current version and applied again.
    """
    metadata = base.get("metadata") or {}
    namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
    version = metadata.get("resourceVersion")
    moved_on: set[str] = set()
    for attempt in range(attempts):
        try:
            model = patch_model(caller, namespace, name, change, resource_version=version,
                                dry_run=dry_run)
            return Applied(model, rebased=attempt > 0, moved_on=sorted(moved_on))
        except errors.Conflict as conflict:
            current = conflict.current
            if current is None or attempt == attempts - 1:
                raise
            clashes = overlapping(change, base, current)
            if clashes:
                conflict.fields = [path_text(path) for path in clashes]
                conflict.message = (f"{conflict.message} Changed by both: "
                                    f"{', '.join(conflict.fields)}.")
                raise
            moved_on.update(path_text(p) for p in changed_paths(change_patch(base, current)))
            version = current["metadata"].get("resourceVersion")
            time.sleep(random.uniform(0, 0.002 * attempt))  # jitter: retries of concurrent writers spread out
    raise AssertionError("unreachable")  # pragma: no cover


def update_model(caller: Caller, base: Obj, desired: Obj, dry_run: bool = False) -> Obj:
    """Write the caller's changes from `base` (the object as read) to `desired`.

    Only the difference is sent, as a merge patch (see `apply_change`): fields the
    caller did not change, including ones this code does not know, are never
    rewritten, and a field changed meanwhile by someone else is refused with 409.
    """
    return apply_change(caller, base, change_patch(base, desired), dry_run=dry_run).model


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
    items.sort(key=event_time, reverse=True)
    return items[:limit]


def event_time(event: Obj) -> str:
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
