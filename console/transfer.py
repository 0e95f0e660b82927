"""Export Models as clean YAML for GitOps, and import multi-document YAML with a preview."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core import signing

import kube
from console.profiles import profile_problem
from models_ui import editing
from models_ui.cluster_schema import cluster_model
from modelspec.errors import FieldError
from modelspec.objects import strip_server_fields
from modelspec.schema import API_VERSION, KIND
from modelspec.validation import validate

Obj = dict[str, Any]
EXTRA_SERVER_METADATA = ("selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
                         "ownerReferences")
DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
KUBEAI_FINALIZERS = "kubeai.org/"  # e.g. kubeai.org/cache-eviction: KubeAI adds its own
MAX_IMPORT_DOCUMENTS = 200
PLAN_SALT = "kmm.console.import"
KUBEAI_SET_FIELDS = ("replicas", "owner")


def clean(model: Obj) -> Obj:
    """The object as one would commit it: no status, nothing the server owns (and no
    ownerReferences, deletion marks, kubectl's last-applied copy or KubeAI's finalizers,
    which KubeAI adds itself)."""
    stripped = strip_server_fields(model)
    metadata = {k: v for k, v in stripped["metadata"].items() if k not in EXTRA_SERVER_METADATA}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items()
                   if k not in DROPPED_ANNOTATIONS}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    finalizers = [f for f in metadata.get("finalizers") or []
                  if not str(f).startswith(KUBEAI_FINALIZERS)]
    if finalizers:
        metadata["finalizers"] = finalizers
    else:
        metadata.pop("finalizers", None)
    return {"apiVersion": model.get("apiVersion", API_VERSION), "kind": model.get("kind", KIND),
            "metadata": metadata, "spec": copy.deepcopy(model.get("spec") or {})}


def export_yaml(models: list[Obj]) -> str:
    return yaml.safe_dump_all([clean(m) for m in models], sort_keys=False,
                              default_flow_style=False, width=100)


@dataclass
class ImportItem:
    index: int
    namespace: str
    name: str
    action: str  # "create", "update", "unchanged", "invalid"
    errors: list[str] = field(default_factory=list)
    desired: Obj | None = None
    current: Obj | None = None


def parse_documents(text: str, default_namespace: str) -> list[ImportItem | Obj]:
    """Each document as an object, or an invalid ImportItem explaining why not."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return [ImportItem(1, "", "", "invalid", [f"Not valid YAML{where}: "
                                                   f"{getattr(exc, 'problem', exc)}"])]
    if len(documents) > MAX_IMPORT_DOCUMENTS:
        return [ImportItem(1, "", "", "invalid",
                           [f"At most {MAX_IMPORT_DOCUMENTS} documents per import."])]
    out: list[ImportItem | Obj] = []
    for index, document in enumerate(documents, start=1):
        if not isinstance(document, dict):
            out.append(ImportItem(index, "", "", "invalid", ["Not a mapping."]))
            continue
        if document.get("kind", KIND) != KIND or document.get("apiVersion", API_VERSION) != API_VERSION:
            out.append(ImportItem(index, "", str((document.get("metadata") or {}).get("name", "")),
                                  "invalid", [f"Not a {API_VERSION} {KIND} "
                                              f"({document.get('apiVersion')} {document.get('kind')})."]))
            continue
        obj = clean(document)
        obj["metadata"].setdefault("namespace", default_namespace)
        out.append(obj)
    return out


def preview(caller: kube.Caller, text: str, default_namespace: str) -> list[ImportItem]:
    """What applying would do to each document, with the caller's identity, nothing written:
    our validation, then the API server's dry run (its rules and the caller's RBAC)."""
    items: list[ImportItem] = []
    for index, parsed in enumerate(parse_documents(text, default_namespace), start=1):
        if isinstance(parsed, ImportItem):
            items.append(parsed)
            continue
        namespace = str(parsed["metadata"].get("namespace") or "")
        name = str(parsed["metadata"].get("name") or "")
        item = ImportItem(index, namespace, name, "create", desired=parsed)
        try:
            current = kube.get_model(caller, namespace, name) if namespace and name else None
        except kube.NotFound:
            current = None
        except kube.KubeError as exc:
            item.action, item.errors = "invalid", [exc.message]
            items.append(item)
            continue
        desired = parsed
        if current is not None:
            item.current = current
            desired = merged_desired(current, parsed)
            item.action = "update" if kube.change_patch(current, desired) else "unchanged"
        problems = validate(desired, current, cluster_model())
        unknown_profile = profile_problem(desired, current)
        if unknown_profile is not None:
            problems.append(unknown_profile)
        if not problems and item.action != "unchanged":
            try:
                if current is None:
                    kube.create_model(caller, desired, dry_run=True)
                else:
                    kube.update_model(caller, current, desired, dry_run=True)
            except kube.Invalid as exc:
                problems = exc.errors
            except kube.KubeError as exc:
                problems = [FieldError("", exc.message)]
        if problems:
            item.action = "invalid"
            item.errors = [f"{e.path}: {e.message}" if e.path else e.message for e in problems]
        items.append(item)
    return items


def merged_desired(current: Obj, imported: Obj) -> Obj:
    """The current object with the imported spec, labels and annotations: what a GitOps
    apply of this file means (other metadata and status stay the server's).

    Fields KubeAI sets itself (spec.replicas, spec.owner) keep their current values when
    the file leaves them out, as KubeAI's own catalog does: removing `replicas` would make
    KubeAI scale a running model back to minReplicas."""
    desired = copy.deepcopy(current)
    desired.pop("status", None)
    desired["spec"] = copy.deepcopy(imported.get("spec") or {})
    for key in KUBEAI_SET_FIELDS:
        if key not in desired["spec"] and key in (current.get("spec") or {}):
            desired["spec"][key] = copy.deepcopy(current["spec"][key])
    for key in ("labels", "annotations"):
        if key in imported["metadata"]:
            desired["metadata"][key] = dict(imported["metadata"][key])
    return desired


def seal_plan(items: list[ImportItem]) -> str:
    """The previewed plan, signed: apply writes exactly what was shown, pinned to the
    resourceVersions read at preview time (a change meanwhile is refused, 409)."""
    plan = [{"desired": i.desired, "current": _as_read(i.current) if i.current else None}
            for i in items if i.action in ("create", "update")]
    return signing.dumps(plan, salt=PLAN_SALT, compress=True)


def _as_read(obj: Obj) -> Obj:
    """The object as read, without status and managedFields (kept small in the token)."""
    return strip_server_fields(obj, keep=("metadata.resourceVersion", "metadata.uid",
                                          "metadata.creationTimestamp", "metadata.generation"))


def open_plan(token: str) -> list[Obj] | None:
    try:
        plan = signing.loads(token, salt=PLAN_SALT, max_age=3600)
    except signing.BadSignature:
        return None
    return plan if isinstance(plan, list) else None


def apply_plan(caller: kube.Caller, plan: list[Obj]) -> list[tuple[str, str, str]]:
    """Apply each previewed step; (namespace/name, outcome, message) per step."""
    results = []
    for step in plan:
        desired, current = step.get("desired") or {}, step.get("current")
        key = f"{desired['metadata'].get('namespace')}/{desired['metadata'].get('name')}"
        try:
            if current is None:
                editing.create(caller, desired)
                results.append((key, "created", ""))
            else:
                # Only what the file changes, from the version previewed: a write since
                # then (KubeAI's status, replicas) is no conflict unless it touched the same
                # fields (the three-way rule of a form save).
                change = kube.change_patch(current, merged_desired(current, desired))
                editing.update(caller, current, change)
                results.append((key, "updated", ""))
        except kube.Conflict as conflict:
            fields = f" ({', '.join(conflict.fields)})" if conflict.fields else ""
            results.append((key, "conflict", f"changed by someone else since the preview"
                                             f"{fields}; preview again"))
        except kube.AlreadyExists:
            results.append((key, "conflict", "created by someone else since the preview; "
                                             "preview again"))
        except kube.KubeError as exc:
            results.append((key, "failed", exc.message))
    return results
