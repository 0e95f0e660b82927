"""Whether another tool owns a Model (Helm, Argo CD): an edit here would be reverted."""

from __future__ import annotations

from typing import Any

ARGO_TRACKING = "argocd.argoproj.io/tracking-id"
ARGO_INSTANCE = "app.kubernetes.io/instance"
HELM_RELEASE = "meta.helm.sh/release-name"
MANAGED_BY = "app.kubernetes.io/managed-by"


def managed_by(model: dict[str, Any]) -> str | None:
    """"Helm release x", "Argo CD (app y)" or None."""
    metadata = model.get("metadata") or {}
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    if ARGO_TRACKING in annotations:
        app = str(annotations[ARGO_TRACKING]).split(":", 1)[0]
        return f"Argo CD (application {app})"
    if labels.get(MANAGED_BY, "").lower() == "argocd" or (
            ARGO_INSTANCE in labels and "argocd.argoproj.io/instance" in annotations):
        return f"Argo CD (application {labels.get(ARGO_INSTANCE, '?')})"
    if ARGO_INSTANCE in labels and any(k.startswith("argocd.argoproj.io/") for k in annotations):
        return f"Argo CD (application {labels[ARGO_INSTANCE]})"
    if labels.get(MANAGED_BY) == "Helm" or HELM_RELEASE in annotations:
        release = annotations.get(HELM_RELEASE) or labels.get(ARGO_INSTANCE) or "?"
        namespace = annotations.get("meta.helm.sh/release-namespace")
        return f"Helm release {release}" + (f" in {namespace}" if namespace else "")
    return None
