"""Saving a model safely: dry-run first, then write; stale edits become a reviewable conflict.

The edit page carries the object as it was loaded (`original`, signed so it
cannot be forged). The operator's change is the merge patch from that original
to what they submitted. On a conflict that same patch is shown applied to the
current object, and can be re-applied to it, pinned to its resourceVersion.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.core import signing

import kube
from kube.patch import apply_merge_patch, change_patch
from models_ui.yaml_form import editable_yaml
from modelspec.objects import strip_server_fields

Obj = dict[str, Any]
ORIGINAL_SALT = "kmm.models_ui.original"
REAPPLY_SALT = "kmm.models_ui.reapply"


def seal_original(obj: Obj) -> str:
    return signing.dumps(_editable(obj), salt=ORIGINAL_SALT, compress=True)


def open_original(token: str) -> Obj | None:
    try:
        value = signing.loads(token, salt=ORIGINAL_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) else None


def _editable(obj: Obj) -> Obj:
    return strip_server_fields(obj, keep=("metadata.resourceVersion",))


def create(caller: kube.Caller, desired: Obj) -> Obj:
    """Dry-run, then create: the API server's verdict arrives before anything is stored."""
    kube.create_model(caller, desired, dry_run=True)
    return kube.create_model(caller, desired)


def update(caller: kube.Caller, original: Obj, desired: Obj) -> Obj:
    kube.update_model(caller, original, desired, dry_run=True)
    return kube.update_model(caller, original, desired)


@dataclass
class ConflictView:
    """What the conflict page shows: who changed what, and what saving now would do."""

    current: Obj
    theirs_diff: str
    result_diff: str
    reapply_token: str
    current_resource_version: str


def conflict_view(original: Obj, desired: Obj, current: Obj) -> ConflictView:
    patch = change_patch(original, desired)
    proposed = apply_merge_patch(_editable(current), patch)
    metadata = current["metadata"]
    token = signing.dumps({"namespace": metadata["namespace"], "name": metadata["name"],
                           "patch": patch}, salt=REAPPLY_SALT, compress=True)
    return ConflictView(
        current=current,
        theirs_diff=diff(original, current, "as you loaded it", "as it is now"),
        result_diff=diff(current, proposed, "as it is now", "with your changes applied"),
        reapply_token=token,
        current_resource_version=str(metadata.get("resourceVersion", "")),
    )


def reapply(caller: kube.Caller, token: str, resource_version: str) -> Obj:
    """Apply the operator's change (from a conflict page) to the version they reviewed."""
    try:
        payload = signing.loads(token, salt=REAPPLY_SALT)
    except signing.BadSignature:
        raise kube.BadRequest("The change to re-apply is damaged; edit the model again.") from None
    args = (caller, payload["namespace"], payload["name"], payload["patch"])
    kube.patch_model(*args, resource_version=resource_version, dry_run=True)
    return kube.patch_model(*args, resource_version=resource_version)


def diff(before: Obj, after: Obj, before_label: str, after_label: str) -> str:
    lines = difflib.unified_diff(
        editable_yaml(_comparable(before)).splitlines(keepends=True),
        editable_yaml(_comparable(after)).splitlines(keepends=True),
        fromfile=before_label, tofile=after_label, n=2)
    return "".join(lines)


def _comparable(obj: Obj) -> Obj:
    return strip_server_fields(obj)
